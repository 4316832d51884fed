package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/broker"
	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/kafka"
	"github.com/vigilsec/vigil/ops"
	"github.com/vigilsec/vigil/topics"
)

func newBrokerCmd() *cobra.Command {
	var (
		listen     string
		partitions int
		dataDir    string
		prefix     string
		noTopics   bool
		logLevel   string
	)
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Serve the Kafka protocol from an embedded broker",
		Long: `broker runs an in-process Kafka broker (franz-go's kfake) that any Kafka client,
kcat included, can produce to and consume from. It creates vigil's topics at
start-up unless --no-topics is given; other topics are created on first use.
It is one node without replication: for the demo, development and tests.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if partitions < 1 {
				return usageErr("--partitions (%d) must be >= 1", partitions)
			}
			if err := topics.ValidPrefix(prefix); err != nil {
				return usageErr("--prefix: %v", err)
			}
			log, err := ops.NewLogger(os.Stderr, logLevel, "auto")
			if err != nil {
				return usageErr("%v", err)
			}
			return broker.Serve(cmd.Context(), broker.Options{
				Listen: listen, Partitions: partitions, DataDir: dataDir, Logger: log,
			}, func(b *broker.Broker) {
				if !noTopics {
					if err := createStandardTopics(cmd.Context(), b.Addr(), topics.Names{Prefix: prefix}, int32(partitions)); err != nil {
						log.Error("create topics", "err", err)
					}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "vigil broker listening on %s\n", b.Addr())
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:9092", "address to serve the Kafka protocol on (port 0 picks one)")
	f.IntVar(&partitions, "partitions", 12, "partitions of topics created without a count")
	f.StringVar(&dataDir, "data-dir", "", "keep the log on disk in this directory across restarts")
	f.StringVar(&prefix, "prefix", topics.DefaultPrefix, "topic name prefix of the topics created at start-up")
	f.BoolVar(&noTopics, "no-topics", false, "do not create vigil's topics at start-up")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	return cmd
}

// standardTopics are the topics a vigil deployment uses.
func standardTopics(n topics.Names, partitions int32) []topics.Spec {
	specs := []topics.Spec{
		{Name: n.Alerts(), Partitions: partitions},
		{Name: n.DLQ(), Partitions: partitions},
		{Name: n.Late(), Partitions: partitions},
		{Name: n.RemediationRequests(), Partitions: partitions},
		{Name: n.RemediationResults(), Partitions: partitions},
	}
	for _, s := range normalize.Sources() {
		dec, _ := normalize.Lookup(s)
		specs = append(specs,
			topics.Spec{Name: n.Raw(s), Partitions: partitions},
			topics.Spec{Name: n.Events(dec.Dataset()), Partitions: partitions})
	}
	return specs
}

func createStandardTopics(ctx context.Context, addr string, n topics.Names, partitions int32) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return kafka.EnsureTopics(ctx, kadm.NewClient(cl), -1, standardTopics(n, partitions))
}
