// Package plugin is the registry of vigil's components: the sources that bring
// events into Kafka, the stream apps that normalize, detect and correlate, and
// the sinks that write results elsewhere.
//
// A component lives in a package of its own and registers itself from init
// with a name and a config type; package plugin/all compiles every component
// in with one blank import. Adding a component therefore touches two places:
// its own package and one import line.
package plugin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/rules"
	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

// Kind is the role a component plays in the pipeline.
type Kind string

// The kinds of component, each configured in its own section of the config
// file (sources, apps, sinks).
const (
	Source Kind = "source"
	App    Kind = "app"
	Sink   Kind = "sink"
)

// Kinds lists every kind in pipeline order.
var Kinds = []Kind{Source, App, Sink}

// Section is the config file section that configures components of kind k.
func (k Kind) Section() string { return string(k) + "s" }

// Spec describes one registered component type.
type Spec struct {
	// Kind is the component's role.
	Kind Kind
	// Name is the type name used in the config file.
	Name string
	// Summary is one line for `vigil` help output.
	Summary string
	// Config returns a fresh pointer to the component's config struct, filled
	// with its defaults. The config file's keys for the component are decoded
	// into it strictly. If the value implements Validator, Validate is called
	// after decoding. Nil means the component takes no options.
	Config func() any
	// New builds a component from its decoded config. It must not block or do
	// I/O; that belongs in Run.
	New func(cfg any, deps Deps) (Component, error)
}

// Validator is implemented by config structs that can check themselves.
// Validate returns every problem found, not only the first.
type Validator interface {
	Validate() []error
}

// Component is a running part of the pipeline.
type Component interface {
	// Run runs until ctx is done or, for a bounded job such as a one-off file
	// replay, until the job is finished. Returning nil after ctx is done is a
	// clean stop; a non-nil error is fatal for the process.
	Run(ctx context.Context) error
}

// Readier is implemented by components that can tell whether they are ready
// to serve (connected to Kafka and running their loop).
type Readier interface {
	Ready() bool
}

// TopicDeclarer is implemented by components that need topics to exist
// before they start. The engine creates missing ones when topics.create is
// on.
type TopicDeclarer interface {
	Topics() []topics.Spec
}

// Deps is what the engine hands every component.
type Deps struct {
	// Name is the component's configured name. Stream apps and sinks use
	// Topics.Group(Name) as their consumer group id.
	Name string
	// Kafka holds the client options shared by every client: seed brokers,
	// TLS, SASL, client id. Components append their own.
	Kafka []kgo.Opt
	// Topics names topics.
	Topics topics.Names
	// Partitions is the partition count for topics the component declares.
	Partitions int32
	// Guarantee is the processing guarantee for stream apps.
	Guarantee streams.Guarantee
	// TransactionTimeout and CommitInterval configure exactly-once
	// transactions (see streams.App); zero means the runtime's default.
	TransactionTimeout time.Duration
	CommitInterval     time.Duration
	// InstanceID distinguishes processes running the same app; transactional
	// ids derive from it.
	InstanceID string
	// Logger is the component's logger, never nil.
	Logger *slog.Logger
	// Registerer registers the component's metrics; it already carries a
	// constant "app" label with the component's name.
	Registerer prometheus.Registerer
	// StaticMembership joins consumer groups as static members, with
	// InstanceID as group.instance.id.
	StaticMembership bool
	// State configures stateful apps' local state; State.Dir is the
	// process's state directory, each app keeps a subdirectory.
	State state.Options
	// Observer, if not nil, is told about committed progress.
	Observer streams.Observer
	// Stdout is where console output goes.
	Stdout io.Writer
	// Rules is the rules section of the config, for the apps that run
	// Sigma rules.
	Rules rules.Config
}

// App fills in what every stream app of a component shares (name, group,
// client options, instance id, dead-letter and late topics, transaction
// settings, membership, logger, metrics, observer) and returns a.
// Inputs, Processor, Guarantee, Stores and the like remain the caller's.
func (d Deps) App(a streams.App) streams.App {
	a.Name = d.Name
	a.Group = d.Topics.Group(d.Name)
	a.Client = d.Kafka
	a.InstanceID = d.InstanceID
	a.DLQ = d.Topics.DLQ()
	a.LateTopic = d.Topics.Late()
	a.TransactionTimeout = d.TransactionTimeout
	a.CommitInterval = d.CommitInterval
	a.StaticMembership = d.StaticMembership
	a.Logger = d.Logger
	a.Registerer = d.Registerer
	a.Observer = d.Observer
	return a
}

var (
	mu    sync.RWMutex
	specs = map[Kind]map[string]Spec{}
)

// Register adds a component type. It panics on a duplicate or incomplete
// spec, which is a programming error found at start-up.
func Register(s Spec) {
	if s.Name == "" || s.New == nil {
		panic(fmt.Sprintf("plugin: incomplete spec %+v", s))
	}
	switch s.Kind {
	case Source, App, Sink:
	default:
		panic(fmt.Sprintf("plugin: %s: unknown kind %q", s.Name, s.Kind))
	}
	mu.Lock()
	defer mu.Unlock()
	m := specs[s.Kind]
	if m == nil {
		m = map[string]Spec{}
		specs[s.Kind] = m
	}
	if _, dup := m[s.Name]; dup {
		panic(fmt.Sprintf("plugin: %s %q registered twice", s.Kind, s.Name))
	}
	m[s.Name] = s
}

// Lookup returns the spec of a registered component type.
func Lookup(k Kind, name string) (Spec, bool) {
	mu.RLock()
	defer mu.RUnlock()
	s, ok := specs[k][name]
	return s, ok
}

// List returns the registered component types of one kind, sorted by name.
func List(k Kind) []Spec {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Spec, 0, len(specs[k]))
	for _, s := range specs[k] {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the registered type names of one kind, sorted.
func Names(k Kind) []string {
	var out []string
	for _, s := range List(k) {
		out = append(out, s.Name)
	}
	return out
}
