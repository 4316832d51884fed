// Package broker runs an embedded Kafka broker inside the vigil process.
//
// It is franz-go's kfake, a Kafka-protocol broker: any Kafka client (kcat,
// the Java client, franz-go) can produce, consume, join groups and run
// transactions against it. vigil uses it when no brokers are configured, for
// the demo, and in tests. It is one node without replication; production
// runs against a real cluster.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Options configure an embedded broker.
type Options struct {
	// Listen is the host:port to serve on. Default "127.0.0.1:9092"; port 0
	// picks a free port.
	Listen string
	// Partitions is the partition count of topics created without one
	// (auto-created by a producer, or CreateTopics with -1). Default 12.
	Partitions int
	// DataDir persists the log and group state across restarts. Default:
	// in memory.
	DataDir string
	// CompactInterval is how often compacted topics are compacted. Default
	// 5m.
	CompactInterval time.Duration
	// Logger receives the broker's warnings and errors. Default: none.
	Logger *slog.Logger
}

// Broker is a running embedded broker.
type Broker struct {
	c    *kfake.Cluster
	addr string
}

// Start starts a broker.
func Start(o Options) (*Broker, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:9092"
	}
	if o.Partitions <= 0 {
		o.Partitions = 12
	}
	if o.CompactInterval <= 0 {
		o.CompactInterval = 5 * time.Minute
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("broker: listen address %q: %w", o.Listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return nil, fmt.Errorf("broker: listen address %q: give the host clients should connect to, not all interfaces; the broker advertises it", o.Listen)
	}
	// Listen here, so that the error for a taken port is ours and the
	// broker advertises exactly the address asked for.
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	used := false
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(func(string, string) (net.Listener, error) {
			if used {
				return nil, errors.New("broker: one listener only")
			}
			used = true
			return ln, nil
		}),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(o.Partitions),
		kfake.BrokerConfigs(map[string]string{
			"log.cleaner.backoff.ms": strconv.FormatInt(o.CompactInterval.Milliseconds(), 10),
		}),
	}
	if o.DataDir != "" {
		opts = append(opts, kfake.DataDir(o.DataDir))
	}
	if o.Logger != nil {
		opts = append(opts, kfake.WithLogger(logger{o.Logger}))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	return &Broker{c: c, addr: ln.Addr().String()}, nil
}

// Addr is the address clients connect to.
func (b *Broker) Addr() string { return b.addr }

// Cluster exposes the kfake cluster, for tests that compact or inject faults.
func (b *Broker) Cluster() *kfake.Cluster { return b.c }

// Close stops the broker, saving its state first if it has a data dir.
func (b *Broker) Close() { b.c.Close() }

// Serve runs a broker until ctx is done.
func Serve(ctx context.Context, o Options, started func(*Broker)) error {
	b, err := Start(o)
	if err != nil {
		return err
	}
	defer b.Close()
	if started != nil {
		started(b)
	}
	<-ctx.Done()
	return nil
}

type logger struct{ l *slog.Logger }

func (l logger) Logf(level kfake.LogLevel, format string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		l.l.Error("broker: " + fmt.Sprintf(format, args...))
	case kfake.LogLevelWarn:
		l.l.Warn("broker: " + fmt.Sprintf(format, args...))
	}
}
