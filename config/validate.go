package config

import (
	"fmt"
	"net"
	"os"
	"reflect"
	"strconv"

	"github.com/vigilsec/vigil/correlators/ruleset"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
	"github.com/vigilsec/vigil/topics"
)

// Validate returns every problem with the configuration, each naming its key.
// An empty result means the configuration is usable.
func (c *Config) Validate() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	k := &c.Kafka
	for i, b := range k.Brokers {
		if err := checkHostPort(b, false); err != nil {
			add("kafka.brokers[%d] (%q): %v", i, b, err)
		}
	}
	if k.ClientID == "" {
		add("kafka.client_id must not be empty")
	}
	if _, err := streams.ParseGuarantee(k.Guarantee); err != nil {
		add("kafka.guarantee: %v", err)
	}
	if k.CommitInterval <= 0 || (k.TransactionTimeout > 0 && k.CommitInterval > k.TransactionTimeout/2) {
		add("kafka.commit_interval (%s) must be > 0 and at most half of kafka.transaction_timeout (%s)", k.CommitInterval, k.TransactionTimeout)
	}
	if k.TransactionTimeout <= 0 || k.TransactionTimeout.Milliseconds() > 900000 {
		add("kafka.transaction_timeout (%s) must be > 0 and <= 15m, the broker's default transaction.max.timeout.ms", k.TransactionTimeout)
	}
	if k.DialTimeout <= 0 {
		add("kafka.dial_timeout (%s) must be > 0", k.DialTimeout)
	}
	t := &k.TLS
	if !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify) {
		add("kafka.tls has settings but kafka.tls.enabled is false")
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		add("kafka.tls.cert_file and kafka.tls.key_file must be set together")
	}
	for key, f := range map[string]string{"ca_file": t.CAFile, "cert_file": t.CertFile, "key_file": t.KeyFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			add("kafka.tls.%s: %v", key, err)
		}
	}
	s := &k.SASL
	switch s.Mechanism {
	case "":
		if s.Username != "" || s.Password.IsSet() {
			add("kafka.sasl has a username or password but no mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
		}
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if s.Username == "" {
			add("kafka.sasl.username must be set for mechanism %s", s.Mechanism)
		}
		if !s.Password.IsSet() {
			add("kafka.sasl.password must be set for mechanism %s, as {env: NAME} or {file: /path}", s.Mechanism)
		} else if _, err := s.Password.Value(); err != nil {
			add("kafka.sasl.password: %v", err)
		}
	default:
		add("kafka.sasl.mechanism %q must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.Mechanism)
	}
	if len(k.Brokers) == 0 {
		if err := checkHostPort(k.Embedded.Listen, true); err != nil {
			add("kafka.embedded.listen (%q): %v", k.Embedded.Listen, err)
		}
	}

	tp := &c.Topics
	if err := topics.ValidPrefix(tp.Prefix); err != nil {
		add("topics.prefix: %v", err)
	}
	if tp.Partitions < 1 {
		add("topics.partitions (%d) must be >= 1", tp.Partitions)
	}
	if tp.ReplicationFactor != -1 && tp.ReplicationFactor < 1 {
		add("topics.replication_factor (%d) must be -1 (the broker's default) or >= 1", tp.ReplicationFactor)
	}

	st := &c.State
	if st.CacheSize < 1<<20 {
		add("state.cache_size (%d) must be >= 1048576 (1 MiB)", st.CacheSize)
	}
	if st.RecordCacheSize < 0 {
		add("state.record_cache_size (%d) must be >= 0", st.RecordCacheSize)
	}
	if st.WriteBufferSize < 0 {
		add("state.write_buffer_size (%d) must be >= 0", st.WriteBufferSize)
	}
	if st.MemTableSize < 1<<20 || st.MemTableSize >= 4<<30 {
		add("state.memtable_size (%d) must be >= 1048576 (1 MiB) and < 4 GiB", st.MemTableSize)
	}
	if st.MemTables < 2 {
		add("state.memtables (%d) must be >= 2", st.MemTables)
	}

	if c.Ops.Listen != "" {
		if err := checkHostPort(c.Ops.Listen, true); err != nil {
			add("ops.listen (%q): %v", c.Ops.Listen, err)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level %q must be debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "text", "json":
	default:
		add("log.format %q must be auto, text or json", c.Log.Format)
	}

	for _, err := range ruleset.Validate(c.Rules) {
		add("rules: %v", err)
	}

	seen := map[string]plugin.Kind{}
	for _, comp := range c.Components() {
		where := comp.Kind.Section() + "." + comp.Name
		if err := topics.ValidName(comp.Name); err != nil {
			add("%s: component %v", where, err)
		}
		if other, dup := seen[comp.Name]; dup {
			add("%s: the name %q is also used in %s; names must be unique across sources, apps and sinks", where, comp.Name, other.Section())
		}
		seen[comp.Name] = comp.Kind
		if comp.Config == nil {
			continue
		}
		if v, ok := comp.Config.(plugin.Validator); ok {
			for _, err := range v.Validate() {
				add("%s: %v", where, err)
			}
		}
		checkSecrets(reflect.ValueOf(comp.Config), where, add)
	}
	return p
}

// checkSecrets reports secrets anywhere in v that are configured but cannot
// be read.
func checkSecrets(v reflect.Value, path string, add func(string, ...any)) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Type() == secretType {
		s := v.Interface().(Secret)
		if s.IsSet() {
			if _, err := s.Value(); err != nil {
				add("%s: %v", path, err)
			}
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		fields := yamlFieldNames(v.Type())
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				checkSecrets(v.Field(i), path+"."+fields[i], add)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			checkSecrets(v.Index(i), fmt.Sprintf("%s[%d]", path, i), add)
		}
	case reflect.Map:
		for _, key := range v.MapKeys() {
			checkSecrets(v.MapIndex(key), fmt.Sprintf("%s.%v", path, key), add)
		}
	}
}

func yamlFieldNames(t reflect.Type) []string {
	names := make([]string, t.NumField())
	for name, f := range yamlFields(t) {
		if len(f.Index) == 1 {
			names[f.Index[0]] = name
		}
	}
	return names
}

// checkHostPort checks a host:port address. An empty host means all
// interfaces and is allowed only for listen addresses.
func checkHostPort(addr string, listen bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" && !listen {
		return fmt.Errorf("missing host")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !listen) {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}
