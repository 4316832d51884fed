// Package engine runs the components a configuration enables: it starts the
// embedded broker when no brokers are configured, creates missing topics,
// serves the operations endpoints, runs every component and stops them all
// cleanly on cancellation.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/broker"
	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/kafka"
	"github.com/vigilsec/vigil/ops"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

// Options adjust a run.
type Options struct {
	// Only names the components to run; empty runs every enabled one.
	// Naming a disabled component runs it.
	Only []string
	// Logger defaults to a no-op logger.
	Logger *slog.Logger
	// Registry receives all metrics; default a new registry.
	Registry *prometheus.Registry
	// Observer is told about committed progress.
	Observer streams.Observer
	// Stdout is where console sinks print; default os.Stdout.
	Stdout io.Writer
	// Started, if set, is called once the broker is reachable, topics exist
	// and components are starting.
	Started func(Info)
	// Stopped, if set, is called when a component's Run returns, with its
	// error. A source that has read everything stops with a nil error while
	// the rest keep running.
	Stopped func(name string, err error)
}

// Info describes a started engine.
type Info struct {
	// Brokers are the seed brokers in use.
	Brokers []string
	// Embedded reports whether the broker runs in this process.
	Embedded bool
	// OpsAddr is the address of the operations server, "" if off.
	OpsAddr string
	// Components are the names of the running components.
	Components []string
	// Client holds the client options components use.
	Client []kgo.Opt
}

// Selected returns the components of cfg that a run with these options
// runs, or an error naming unknown components.
func Selected(cfg *config.Config, only []string) ([]*config.Component, error) {
	all := cfg.Components()
	if len(only) == 0 {
		var out []*config.Component
		for _, c := range all {
			if c.Enabled {
				out = append(out, c)
			}
		}
		return out, nil
	}
	byName := map[string]*config.Component{}
	var names []string
	for _, c := range all {
		byName[c.Name] = c
		names = append(names, c.Name)
	}
	var out []*config.Component
	var unknown []string
	for _, n := range only {
		if c, ok := byName[n]; ok {
			out = append(out, c)
		} else {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(names)
		return nil, fmt.Errorf("no component named %s (configured: %s)", strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	return out, nil
}

type running struct {
	name string
	comp plugin.Component
	done atomic.Bool
}

// Run runs until ctx is done or a component fails. On cancellation every
// component finishes and commits the batch in hand before Run returns nil.
func Run(ctx context.Context, cfg *config.Config, o Options) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	stdout := o.Stdout
	if stdout == nil {
		stdout = os.Stdout
	}
	selected, err := Selected(cfg, o.Only)
	if err != nil {
		return err
	}
	if len(selected) == 0 {
		return errors.New("no components are enabled")
	}

	seeds := cfg.Kafka.Brokers
	embedded := len(seeds) == 0
	if embedded {
		b, err := broker.Start(broker.Options{
			Listen:     cfg.Kafka.Embedded.Listen,
			DataDir:    cfg.Kafka.Embedded.DataDir,
			Partitions: int(cfg.Topics.Partitions),
			Logger:     log.With("app", "broker"),
		})
		if err != nil {
			return err
		}
		defer b.Close()
		seeds = []string{b.Addr()}
		log.Info("embedded broker started", "addr", b.Addr())
	}
	base, err := kafka.ClientOptions(cfg.Kafka, seeds)
	if err != nil {
		return err
	}
	guarantee, err := streams.ParseGuarantee(cfg.Kafka.Guarantee)
	if err != nil {
		return err
	}
	instance := cfg.Kafka.InstanceID
	if instance == "" {
		instance, _ = os.Hostname()
		if instance == "" {
			instance = "vigil"
		}
	}
	stateDir := cfg.State.Dir
	if stateDir == "" {
		stateDir = filepath.Join(os.TempDir(), "vigil-state-"+instance)
	}
	recordCache := cfg.State.RecordCacheSize
	if recordCache == 0 {
		recordCache = -1 // 0 in the config turns the cache off
	}
	writeBuffer := cfg.State.WriteBufferSize
	if writeBuffer == 0 {
		writeBuffer = -1 // 0 in the config writes through
	}
	stateOpts := state.Options{
		Dir:             stateDir,
		CacheSize:       cfg.State.CacheSize,
		RecordCacheSize: recordCache,
		WriteBufferSize: writeBuffer,
		MemTableSize:    cfg.State.MemTableSize,
		MemTables:       cfg.State.MemTables,
	}
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	common := plugin.Deps{
		Kafka:      base,
		Topics:     cfg.Topics.Names(),
		Partitions: cfg.Topics.Partitions,
		Guarantee:  guarantee,
		InstanceID: instance,

		TransactionTimeout: cfg.Kafka.TransactionTimeout,
		CommitInterval:     cfg.Kafka.CommitInterval,
		StaticMembership:   cfg.Kafka.StaticMembership,
		State:              stateOpts,
		Observer:           o.Observer,
		Stdout:             stdout,
		Rules:              cfg.Rules,
	}
	built, decl, err := build(selected, common, log, reg)
	if err != nil {
		return err
	}
	comps := make([]*running, len(built))
	for i, b := range built {
		comps[i] = &running{name: b.name, comp: b.comp}
	}

	if cfg.Topics.Create && len(decl) > 0 {
		if err := createTopics(ctx, base, cfg.Topics.ReplicationFactor, decl); err != nil {
			return err
		}
	}

	var failed atomic.Pointer[error]
	var opsAddr string
	if cfg.Ops.Listen != "" {
		srv, err := ops.Listen(cfg.Ops.Listen, reg,
			func() error {
				if e := failed.Load(); e != nil {
					return *e
				}
				return nil
			},
			func() []ops.Check {
				var checks []ops.Check
				for _, r := range comps {
					if rd, ok := r.comp.(plugin.Readier); ok {
						r := r
						checks = append(checks, ops.Check{Name: r.name, Ready: func() bool { return r.done.Load() || rd.Ready() }})
					}
				}
				return checks
			})
		if err != nil {
			return err
		}
		opsAddr = srv.Addr()
		go func() {
			if err := srv.Serve(); err != nil {
				log.Error("ops server stopped", "err", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		log.Info("serving /metrics, /healthz and /readyz", "addr", opsAddr)
	}

	if o.Started != nil {
		names := make([]string, len(comps))
		for i, r := range comps {
			names[i] = r.name
		}
		o.Started(Info{Brokers: seeds, Embedded: embedded, OpsAddr: opsAddr, Components: names, Client: base})
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(comps))
	for i, r := range comps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.done.Store(true)
			log.Info("component started", "app", r.name)
			err := r.comp.Run(ctx)
			if o.Stopped != nil {
				o.Stopped(r.name, err)
			}
			if err != nil {
				err = fmt.Errorf("%s: %w", r.name, err)
				errs[i] = err
				failed.CompareAndSwap(nil, &err)
				log.Error("component failed; stopping", "app", r.name, "err", err)
				cancel()
				return
			}
			log.Info("component stopped", "app", r.name)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

type component struct {
	name string
	comp plugin.Component
}

// build makes the selected components with common's dependencies, each
// with its name, logger and metrics registerer, and gathers the topics
// they declare. It reports every component that cannot be made.
func build(selected []*config.Component, common plugin.Deps, log *slog.Logger, reg prometheus.Registerer) ([]component, []topics.Spec, error) {
	var comps []component
	var decl []topics.Spec
	var errs []error
	for _, c := range selected {
		spec, _ := plugin.Lookup(c.Kind, c.Type)
		d := common
		d.Name = c.Name
		d.Logger = log.With("app", c.Name)
		d.Registerer = prometheus.WrapRegistererWith(prometheus.Labels{"app": c.Name}, reg)
		comp, err := spec.New(c.Config, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", c.Kind.Section(), c.Name, err))
			continue
		}
		if d, ok := comp.(plugin.TopicDeclarer); ok {
			decl = append(decl, d.Topics()...)
		}
		comps = append(comps, component{name: c.Name, comp: comp})
	}
	return comps, decl, errors.Join(errs...)
}

// Topics returns the topics the components that cfg enables (or those in
// only) use, without connecting to Kafka: those Run creates when
// topics.create is set, and those the stream apps' runtime creates when
// they start (changelogs and repartition topics, with as many partitions
// as the app's inputs).
func Topics(cfg *config.Config, only []string) ([]topics.Spec, []streams.InternalTopic, error) {
	selected, err := Selected(cfg, only)
	if err != nil {
		return nil, nil, err
	}
	built, decl, err := build(selected, plugin.Deps{
		Topics:     cfg.Topics.Names(),
		Partitions: cfg.Topics.Partitions,
		Rules:      cfg.Rules,
		// Checked, not opened: nothing is built until Run.
		State:  state.Options{Dir: filepath.Join(os.TempDir(), "vigil-state")},
		Stdout: io.Discard,
	}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		return nil, nil, err
	}
	var internal []streams.InternalTopic
	for _, c := range built {
		if r, ok := c.comp.(interface {
			InternalTopics() []streams.InternalTopic
		}); ok {
			internal = append(internal, r.InternalTopics()...)
		}
	}
	return kafka.Dedupe(decl), internal, nil
}

func createTopics(ctx context.Context, base []kgo.Opt, rf int16, decl []topics.Spec) error {
	cl, err := kgo.NewClient(base...)
	if err != nil {
		return err
	}
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(cctx, kadm.NewClient(cl), rf, decl); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	return nil
}
