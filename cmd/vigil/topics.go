package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/internal/engine"
	"github.com/vigilsec/vigil/kafka"
)

func newTopicsCmd() *cobra.Command {
	var (
		path   string
		apps   []string
		create bool
	)
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "List the Kafka topics the configuration uses, or create them",
		Long: `topics lists every Kafka topic the enabled components (or those named with
--app) read, write or keep state in, with its partition count and cleanup
policy: those "vigil run" creates when topics.create is true, and the
changelog and repartition topics the stream apps create when they start
(with as many partitions as their inputs; they are listed with
topics.partitions, the count vigil gives the topics it creates).

Where vigil's own credentials may not create topics, set topics.create to
false and create them once with --create, run with credentials that may: it
creates the missing topics on kafka.brokers (with topics.replication_factor)
and leaves existing ones as they are. The apps then start without creating
any.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := loadConfig(path)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			specs, internal, err := engine.Topics(cfg, apps)
			if err != nil {
				return usageErr("%v", err)
			}
			type row struct {
				name    string
				parts   int32
				config  map[string]*string
				cleanup string
			}
			var rows []row
			for _, s := range specs {
				r := row{name: s.Name, parts: s.Partitions, cleanup: "delete"}
				if s.Compacted {
					r.cleanup = "compact"
					r.config = map[string]*string{"cleanup.policy": &r.cleanup}
				}
				rows = append(rows, r)
			}
			for _, t := range internal {
				r := row{name: t.Name, parts: cfg.Topics.Partitions, cleanup: "delete", config: map[string]*string{}}
				for k, v := range t.Config {
					r.config[k] = &v
				}
				if c, ok := t.Config["cleanup.policy"]; ok {
					r.cleanup = c
				}
				rows = append(rows, r)
			}
			status := map[string]string{}
			var failed error
			if create {
				if len(cfg.Kafka.Brokers) == 0 {
					return usageErr("--create needs kafka.brokers: the embedded broker creates its topics itself")
				}
				base, err := kafka.ClientOptions(cfg.Kafka, cfg.Kafka.Brokers)
				if err != nil {
					return usageErr("%v", err)
				}
				cl, err := kgo.NewClient(base...)
				if err != nil {
					return err
				}
				defer cl.Close()
				ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
				defer cancel()
				adm := kadm.NewClient(cl)
				existing, err := adm.ListTopics(ctx)
				if err != nil {
					return fmt.Errorf("list topics: %w", err)
				}
				var errs []error
				for _, r := range rows {
					if existing.Has(r.name) {
						status[r.name] = "exists"
						continue
					}
					resp, err := adm.CreateTopic(ctx, r.parts, cfg.Topics.ReplicationFactor, r.config, r.name)
					if err == nil {
						err = resp.Err
					}
					switch {
					case err == nil:
						status[r.name] = "created"
					case errors.Is(err, kerr.TopicAlreadyExists):
						status[r.name] = "exists"
					default:
						status[r.name] = "failed"
						errs = append(errs, fmt.Errorf("create topic %s: %w", r.name, err))
					}
				}
				defer func() {
					if len(errs) > 0 {
						fmt.Fprintln(cmd.ErrOrStderr(), errors.Join(errs...))
					}
				}()
				if len(errs) > 0 {
					failed = fmt.Errorf("%d of %d topics could not be created", len(errs), len(rows))
				}
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			header := "TOPIC\tPARTITIONS\tCLEANUP"
			if create {
				header += "\tSTATUS"
			}
			fmt.Fprintln(w, header)
			for _, r := range rows {
				line := fmt.Sprintf("%s\t%d\t%s", r.name, r.parts, r.cleanup)
				if create {
					line += "\t" + status[r.name]
				}
				fmt.Fprintln(w, line)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return failed
		},
	}
	f := cmd.Flags()
	f.StringVarP(&path, "config", "c", "", "config file (default $VIGIL_CONFIG, else built-in defaults)")
	f.StringSliceVar(&apps, "app", nil, "only the topics of this component (repeatable)")
	f.BoolVar(&create, "create", false, "create the missing topics on kafka.brokers")
	return cmd
}
