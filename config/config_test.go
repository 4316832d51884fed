package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/plugin"
	_ "github.com/vigilsec/vigil/plugin/all"
)

func problems(t *testing.T, err error) []string {
	t.Helper()
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *config.Error", err)
	}
	return ce.Problems
}

func mustParse(t *testing.T, src string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(src), "test.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func names(cs []*config.Component) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c.Kind)+":"+c.Name+":"+c.Type)
	}
	return out
}

func TestDefault(t *testing.T) {
	c, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	got := names(c.Components())
	want := []string{"app:correlate:correlate", "app:detect:detect", "app:normalize:normalize", "sink:console:console"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default components = %v, want %v", got, want)
	}
	if len(c.Kafka.Brokers) != 0 || c.Kafka.Guarantee != "exactly_once" || c.Topics.Prefix != "vigil" || c.Topics.Partitions != 12 {
		t.Errorf("unexpected defaults: %+v %+v", c.Kafka, c.Topics)
	}
	for _, comp := range c.Components() {
		if comp.Config == nil {
			t.Errorf("%s has no decoded config", comp.Name)
		}
	}
}

func TestEmptyFileIsDefault(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "---\n"} {
		c := mustParse(t, src)
		d, _ := config.Default()
		if !reflect.DeepEqual(names(c.Components()), names(d.Components())) || c.Kafka.ClientID != d.Kafka.ClientID {
			t.Errorf("%q did not give the defaults", src)
		}
	}
}

func TestUnknownKeysAreAllReported(t *testing.T) {
	src := `kafka:
  brokerz: [a:1]
  tls:
    enabeld: true
topics:
  prefix: vigil
ops:
  lisen: ":1"
sinks:
  out:
    type: file
    topics: [alerts]
    path: /tmp/x
    fromat: value
`
	_, err := config.Parse([]byte(src), "test.yaml")
	ps := problems(t, err)
	for _, want := range []string{
		`line 2: unknown key "brokerz" in kafka`,
		`line 4: unknown key "enabeld" in kafka.tls`,
		`line 8: unknown key "lisen" in ops`,
		`line 14: unknown key "fromat" in sinks.out (a sink of type file`,
	} {
		if !containsPrefix(ps, want) {
			t.Errorf("problems %q lack %q", ps, want)
		}
	}
	if !strings.Contains(err.Error(), "test.yaml: 4 problems:") {
		t.Errorf("error header: %v", err)
	}
}

func containsPrefix(ps []string, prefix string) bool {
	for _, p := range ps {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

func TestValidateReportsEveryProblem(t *testing.T) {
	src := `kafka:
  brokers: ["nohost", "b:99999"]
  guarantee: twice
  transaction_timeout: 20m
  commit_interval: 11m
  sasl:
    mechanism: SCRAM-SHA-256
topics:
  prefix: ".bad"
  partitions: 0
  replication_factor: 0
log:
  level: loud
  format: xml
sources:
  s:
    type: nosuch
rules:
  disable: [no-such-rule]
  logsources:
    - {datasets: [cloudtrail]}
    - {product: aws, datasets: []}
apps:
  detect:
    datasets: [".x"]
sinks:
  detect:
    type: console
    topics: [bogus]
    color: purple
`
	_, err := config.Parse([]byte(src), "bad.yaml")
	ps := problems(t, err)
	for _, want := range []string{
		`kafka.brokers[0] ("nohost")`,
		`kafka.brokers[1] ("b:99999"): bad port`,
		`kafka.guarantee: guarantee "twice"`,
		`kafka.transaction_timeout (20m0s) must be > 0 and <= 15m`,
		`kafka.commit_interval (11m0s) must be > 0 and at most half of kafka.transaction_timeout (20m0s)`,
		`kafka.sasl.username must be set`,
		`kafka.sasl.password must be set`,
		`topics.prefix: prefix ".bad"`,
		`topics.partitions (0) must be >= 1`,
		`topics.replication_factor (0)`,
		`log.level "loud"`,
		`log.format "xml"`,
		`sources.s: unknown source type "nosuch" (known: file, http, s3)`,
		`apps.detect: datasets: `,
		`rules: logsources[0]: set at least one of product, service, category`,
		`rules: logsources[1] (product: aws): datasets must not be empty`,
		`sinks.detect: the name "detect" is also used in apps`,
		`sinks.detect: topics: topic "bogus"`,
		`sinks.detect: color "purple"`,
	} {
		if !containsPrefix(ps, want) {
			t.Errorf("missing problem %q in:\n%s", want, strings.Join(ps, "\n"))
		}
	}
}

func TestSecrets(t *testing.T) {
	base := "kafka:\n  brokers: [k:9092]\n  sasl:\n    mechanism: PLAIN\n    username: vigil\n"

	_, err := config.Parse([]byte(base+"    password: hunter2\n"), "t.yaml")
	if ps := problems(t, err); !containsPrefix(ps, "line 6: secrets are read from the environment or a file") {
		t.Errorf("plain secret accepted or badly reported: %q", ps)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Error("the error repeats the secret")
	}

	t.Setenv("VIGIL_TEST_PW", "s3cret")
	c := mustParse(t, base+"    password: {env: VIGIL_TEST_PW}\n")
	if v, err := c.Kafka.SASL.Password.Value(); err != nil || v != "s3cret" {
		t.Errorf("env secret = %q, %v", v, err)
	}
	if s := c.Kafka.SASL.Password.String(); strings.Contains(s, "s3cret") {
		t.Errorf("String() shows the secret: %s", s)
	}

	f := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(f, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c = mustParse(t, base+"    password: {file: "+f+"}\n")
	if v, _ := c.Kafka.SASL.Password.Value(); v != "from-file" {
		t.Errorf("file secret = %q", v)
	}

	_, err = config.Parse([]byte(base+"    password: {env: VIGIL_TEST_UNSET_PW}\n"), "t.yaml")
	if ps := problems(t, err); !containsPrefix(ps, "kafka.sasl.password: environment variable VIGIL_TEST_UNSET_PW is not set") {
		t.Errorf("unset env secret: %q", ps)
	}
	_, err = config.Parse([]byte(base+"    password: {env: A, filez: b}\n"), "t.yaml")
	if err == nil {
		t.Error("unknown key in a secret accepted")
	}
}

func TestComponents(t *testing.T) {
	c := mustParse(t, `apps:
  detect: {}
  spare:
    type: normalize
    enabled: false
sinks:
  out:
    type: file
    topics: [alerts, events.cloudtrail]
    path: /tmp/out.jsonl
`)
	got := names(c.Components())
	want := []string{"app:detect:detect", "app:spare:normalize", "sink:out:file"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("components = %v, want %v (a listed section replaces the defaults)", got, want)
	}
	if c.Apps["spare"].Enabled || !c.Apps["detect"].Enabled {
		t.Error("enabled flags wrong")
	}
	// Keys a component leaves out keep their type's defaults.
	v := reflect.ValueOf(c.Sinks["out"].Config).Elem()
	if v.FieldByName("Format").String() != "value" || !v.FieldByName("Sync").Bool() {
		t.Errorf("file sink defaults lost: %+v", c.Sinks["out"].Config)
	}
}

func TestTypeErrorsAreReported(t *testing.T) {
	_, err := config.Parse([]byte("kafka:\n  brokers: 5\n"), "t.yaml")
	if ps := problems(t, err); !containsPrefix(ps, "line 2:") {
		t.Errorf("type error without its line: %q", ps)
	}
	_, err = config.Parse([]byte("- a\n- b\n"), "t.yaml")
	if ps := problems(t, err); !containsPrefix(ps, "the file must be a mapping") {
		t.Errorf("a list at the top: %q", ps)
	}
}

// keyPaths lists the YAML key paths of a struct type, nested structs
// included, components excluded.
func keyPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || tag == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			out = append(out, keyPaths(f.Type, prefix)...)
			continue
		}
		p := prefix + tag
		if f.Type.Kind() == reflect.Map && f.Type.Elem() == reflect.TypeFor[*config.Component]() {
			continue
		}
		out = append(out, p)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[config.Secret]() && f.Type.String() != "time.Duration" {
			out = append(out, keyPaths(f.Type, p+".")...)
		}
	}
	return out
}

func exampleKeys(t *testing.T) (map[string]bool, *config.Config) {
	t.Helper()
	data, err := os.ReadFile("../vigil.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(data, "vigil.example.yaml")
	if err != nil {
		t.Fatalf("the example config does not load: %v", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var walk func(v any, p string)
	walk = func(v any, p string) {
		mm, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, sub := range mm {
			keys[p+k] = true
			walk(sub, p+k+".")
		}
	}
	walk(m, "")
	return keys, c
}

func TestExampleDocumentsEveryField(t *testing.T) {
	keys, c := exampleKeys(t)
	for _, p := range keyPaths(reflect.TypeFor[config.Config](), "") {
		if !keys[p] {
			t.Errorf("vigil.example.yaml does not document %s", p)
		}
	}
	// The fixed sections show the defaults.
	d := config.DefaultConfig()
	if len(c.Kafka.Brokers) == 0 {
		c.Kafka.Brokers = nil // [] in the file, nil by default: the same
	}
	if !reflect.DeepEqual(c.Kafka, d.Kafka) || !reflect.DeepEqual(c.Topics, d.Topics) || c.Ops != d.Ops || c.Log != d.Log {
		t.Errorf("the example's fixed sections differ from the defaults:\n%+v\n%+v", c.Kafka, d.Kafka)
	}
	// Every component type appears with every one of its keys.
	for _, k := range plugin.Kinds {
		for _, spec := range plugin.List(k) {
			var found *config.Component
			for _, comp := range c.Components() {
				if comp.Kind == k && comp.Type == spec.Name {
					found = comp
					break
				}
			}
			if found == nil {
				t.Errorf("vigil.example.yaml has no %s of type %s", k, spec.Name)
				continue
			}
			if spec.Config == nil {
				continue
			}
			prefix := k.Section() + "." + found.Name + "."
			var missing []string
			for _, p := range keyPaths(reflect.TypeOf(spec.Config()), prefix) {
				if !keys[p] {
					missing = append(missing, p)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("vigil.example.yaml does not document %v", missing)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../vigil.example.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("kafka:\n  brokers: [a:1]\n"))
	f.Add([]byte("sources:\n  x:\n    type: file\n    paths: [a]\n    source: cloudtrail\n"))
	f.Add([]byte("apps: {detect: {datasets: [x]}}\n"))
	f.Add([]byte("a: &x {b: 1}\nc: *x\n"))
	f.Add([]byte("kafka: {sasl: {password: {env: X}}}\n"))
	f.Add([]byte("sinks:\n  c:\n    <<: {type: console}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data, "fuzz.yaml")
		if err != nil {
			var ce *config.Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			return
		}
		if ps := c.Validate(); len(ps) > 0 {
			t.Fatalf("Parse accepted a config that does not validate: %q", ps)
		}
	})
}
