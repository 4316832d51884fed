// Package config is vigil's configuration: one YAML file, decoded strictly,
// with defaults from DefaultConfig and validation that reports every problem
// at once.
//
// The file has fixed sections (kafka, topics, ops, log) and three sections of
// components (sources, apps, sinks), each a map from a component's name to
// its settings. A component's type defaults to its name; its other keys are
// the options of that type, documented in vigil.example.yaml.
package config

import (
	"time"

	"github.com/vigilsec/vigil/correlators/ruleset"
	"github.com/vigilsec/vigil/topics"
)

// Config is the whole configuration of a vigil process.
type Config struct {
	// Kafka is how to reach the cluster.
	Kafka Kafka `yaml:"kafka"`
	// Topics sets topic names and how topics are created.
	Topics Topics `yaml:"topics"`
	// State sets where and with how much memory stateful apps keep state.
	State State `yaml:"state"`
	// Ops sets the metrics and health endpoints.
	Ops Ops `yaml:"ops"`
	// Log sets logging.
	Log Log `yaml:"log"`
	// Rules are the Sigma rules the detect and correlate apps run.
	Rules ruleset.Config `yaml:"rules"`
	// Sources bring raw events into Kafka. Default: none.
	Sources map[string]*Component `yaml:"sources"`
	// Apps are stream apps: normalize, detect, correlators. Default:
	// normalize, detect and correlate.
	Apps map[string]*Component `yaml:"apps"`
	// Sinks write topics elsewhere. Default: console, printing alerts.
	Sinks map[string]*Component `yaml:"sinks"`
}

// Kafka configures the clients.
type Kafka struct {
	// Brokers are seed brokers as host:port. Default: none, which starts an
	// embedded broker inside the process (see Embedded).
	Brokers []string `yaml:"brokers"`
	// ClientID is sent to the brokers. Default "vigil".
	ClientID string `yaml:"client_id"`
	// InstanceID distinguishes processes that run the same app; transactional
	// ids derive from it, so it must be unique per process and stable across
	// its restarts (a pod name). Default: the host name.
	InstanceID string `yaml:"instance_id"`
	// StaticMembership joins consumer groups as static members with
	// instance_id as group.instance.id: a restarted process takes its
	// partitions back at once, without a rebalance. A static member does
	// not leave its group on shutdown, so scaling down waits for the
	// session timeout. Default false.
	StaticMembership bool `yaml:"static_membership"`
	// Guarantee is exactly_once or at_least_once, for apps that do not set
	// their own. Default "exactly_once".
	Guarantee string `yaml:"guarantee"`
	// TransactionTimeout bounds one transaction on the broker. Default 60s.
	TransactionTimeout time.Duration `yaml:"transaction_timeout"`
	// CommitInterval is how long an exactly-once transaction collects
	// input before it commits: longer means fewer, larger transactions
	// and fewer changelog writes of a key updated often, but later
	// visibility downstream (consumers read committed data only).
	// Default 100ms.
	CommitInterval time.Duration `yaml:"commit_interval"`
	// DialTimeout bounds connecting to a broker. Default 10s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// TLS configures encryption. Default off.
	TLS TLS `yaml:"tls"`
	// SASL configures authentication. Default off.
	SASL SASL `yaml:"sasl"`
	// Embedded configures the in-process broker used when Brokers is empty.
	Embedded Embedded `yaml:"embedded"`
}

// TLS configures TLS to the brokers.
type TLS struct {
	// Enabled turns TLS on. Default false.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of CAs to trust. Default: the system pool.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and key, for mutual
	// TLS. Default: none.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the broker's certificate.
	// Default: the broker's host.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables certificate checks. Default false; for
	// tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SASL configures SASL authentication.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. Default: none.
	Mechanism string `yaml:"mechanism"`
	// Username is the SASL user.
	Username string `yaml:"username"`
	// Password is read from the environment or a file, never from this file.
	Password Secret `yaml:"password"`
}

// Embedded configures the embedded broker.
type Embedded struct {
	// Listen is the address it serves the Kafka protocol on. Default
	// "127.0.0.1:9092"; port 0 picks a free port.
	Listen string `yaml:"listen"`
	// DataDir keeps the broker's log on disk across restarts. Default: none,
	// the log is in memory.
	DataDir string `yaml:"data_dir"`
}

// Topics configures topic naming and creation.
type Topics struct {
	// Prefix begins every topic name. Default "vigil".
	Prefix string `yaml:"prefix"`
	// Partitions is the partition count of topics vigil creates. Default 12.
	Partitions int32 `yaml:"partitions"`
	// ReplicationFactor of topics vigil creates; -1 means the broker's
	// default. Default -1.
	ReplicationFactor int16 `yaml:"replication_factor"`
	// Create creates missing topics at start-up. Default true.
	Create bool `yaml:"create"`
}

// Names returns the topic namer for this configuration.
func (t Topics) Names() topics.Names { return topics.Names{Prefix: t.Prefix} }

// State configures the local state of stateful apps (correlators that keep
// windows and tables). State lives in Pebble and is backed by changelog
// topics, so a lost directory costs only a restore.
type State struct {
	// Dir holds one Pebble database per app. Default: a directory under
	// the system's temporary directory, per instance.
	Dir string `yaml:"dir"`
	// CacheSize is Pebble's block cache per app, in bytes. Default 33554432
	// (32 MiB).
	CacheSize int64 `yaml:"cache_size"`
	// RecordCacheSize bounds the in-memory cache of store values per app,
	// in bytes. Default 33554432 (32 MiB).
	RecordCacheSize int `yaml:"record_cache_size"`
	// WriteBufferSize bounds the committed state writes held in memory
	// per app before they go to Pebble, in bytes; a key updated by many
	// transactions meanwhile is written once. 0 writes every transaction
	// through. Default 33554432 (32 MiB).
	WriteBufferSize int `yaml:"write_buffer_size"`
	// MemTableSize is the size of one Pebble memtable, in bytes. Default
	// 8388608 (8 MiB).
	MemTableSize uint64 `yaml:"memtable_size"`
	// MemTables bounds the memtables held before writes stall. Default 4.
	MemTables int `yaml:"memtables"`
}

// Ops configures the operations endpoints.
type Ops struct {
	// Listen is the address of the HTTP server for /metrics, /healthz and
	// /readyz. Empty disables it. Default ":9464".
	Listen string `yaml:"listen"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default "info".
	Level string `yaml:"level"`
	// Format is text, json or auto: text on a terminal, JSON otherwise.
	// Default "auto".
	Format string `yaml:"format"`
}

// DefaultConfig returns the configuration used where the file is silent.
func DefaultConfig() *Config {
	return &Config{
		Kafka: Kafka{
			ClientID:           "vigil",
			Guarantee:          "exactly_once",
			TransactionTimeout: 60 * time.Second,
			CommitInterval:     100 * time.Millisecond,
			DialTimeout:        10 * time.Second,
			Embedded:           Embedded{Listen: "127.0.0.1:9092"},
		},
		Topics: Topics{
			Prefix:            topics.DefaultPrefix,
			Partitions:        12,
			ReplicationFactor: -1,
			Create:            true,
		},
		State: State{CacheSize: 32 << 20, RecordCacheSize: 32 << 20, WriteBufferSize: 32 << 20, MemTableSize: 8 << 20, MemTables: 4},
		Ops:   Ops{Listen: ":9464"},
		Log:   Log{Level: "info", Format: "auto"},
		Rules: ruleset.DefaultConfig(),
		Apps: map[string]*Component{
			"normalize": {Type: "normalize", Enabled: true},
			"detect":    {Type: "detect", Enabled: true},
			"correlate": {Type: "correlate", Enabled: true},
		},
		Sinks: map[string]*Component{
			"console": {Type: "console", Enabled: true},
		},
		Sources: map[string]*Component{},
	}
}
