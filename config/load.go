package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/vigilsec/vigil/plugin"
)

// Error lists every problem found in a configuration.
type Error struct {
	// File is the config file's name, or "" for the built-in defaults.
	File string
	// Problems are the problems, each a sentence naming the key.
	Problems []string
}

func (e *Error) Error() string {
	var b strings.Builder
	where := "configuration"
	if e.File != "" {
		where = e.File
	}
	fmt.Fprintf(&b, "%s: %d problem", where, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString(":")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(strings.ReplaceAll(p, "\n", "\n    "))
	}
	return b.String()
}

// Load reads, decodes and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// Default returns the default configuration, prepared and validated.
func Default() (*Config, error) {
	c := DefaultConfig()
	var problems []string
	problems = append(problems, c.prepare()...)
	problems = append(problems, c.Validate()...)
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return c, nil
}

// Parse decodes and validates a config file's contents. Unknown keys are
// errors; every problem is reported in one *Error.
func Parse(data []byte, name string) (*Config, error) {
	c := DefaultConfig()
	fail := func(problems []string) (*Config, error) {
		return nil, &Error{File: name, Problems: problems}
	}
	f, err := parseBytes(data)
	if err != nil {
		return fail([]string{decodeProblem(err)})
	}
	if len(f.Docs) > 1 {
		return fail([]string{"the file holds more than one YAML document"})
	}
	var body ast.Node
	var keyProblems []string
	if len(f.Docs) == 1 {
		body = f.Docs[0].Body
	}
	if body != nil {
		if _, isNull := body.(*ast.NullNode); !isNull && mappingValues(body) == nil {
			return fail([]string{"the file must be a mapping of sections (kafka, topics, ops, log, sources, apps, sinks)"})
		}
		// unknownKeys reports every unknown key with its line; the decoder
		// would stop at the first, so it only checks types here.
		keyProblems = unknownKeys(body, reflect.TypeFor[Config](), "")
		if err := decodeNode(body, c); err != nil {
			return fail(append(keyProblems, decodeProblem(err)))
		}
	}
	problems := append(keyProblems, c.prepare()...)
	problems = append(problems, c.Validate()...)
	if len(problems) > 0 {
		return fail(problems)
	}
	return c, nil
}

// prepare decodes each component's options into its type's config.
func (c *Config) prepare() []string {
	var problems []string
	for _, k := range plugin.Kinds {
		m := c.components(k)
		for _, name := range sortedKeys(m) {
			comp := m[name]
			if comp == nil {
				comp = &Component{Enabled: true}
				m[name] = comp
			}
			if err := comp.prepare(k, name); err != nil {
				problems = append(problems, err.Error())
			}
		}
	}
	return problems
}

func (c *Config) components(k plugin.Kind) map[string]*Component {
	switch k {
	case plugin.Source:
		if c.Sources == nil {
			c.Sources = map[string]*Component{}
		}
		return c.Sources
	case plugin.App:
		if c.Apps == nil {
			c.Apps = map[string]*Component{}
		}
		return c.Apps
	case plugin.Sink:
		if c.Sinks == nil {
			c.Sinks = map[string]*Component{}
		}
		return c.Sinks
	}
	return nil
}

// Components returns every configured component in pipeline order (sources,
// apps, sinks), each kind sorted by name, enabled or not.
func (c *Config) Components() []*Component {
	var out []*Component
	for _, k := range plugin.Kinds {
		m := c.components(k)
		for _, name := range sortedKeys(m) {
			out = append(out, m[name])
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var (
	componentType = reflect.TypeFor[Component]()
	durationType  = reflect.TypeFor[time.Duration]()
	secretType    = reflect.TypeFor[Secret]()
)

// unknownKeys walks a node against the Go type it decodes into and returns
// every key the type does not have, with its position. The decoder alone
// would stop at the first.
func unknownKeys(n ast.Node, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var problems []string
	add := func(mv *ast.MappingValueNode, msg string) {
		pos := mv.Key.GetToken().Position
		problems = append(problems, fmt.Sprintf("line %d: %s", pos.Line, msg))
	}
	switch {
	case t == durationType || t == secretType:
		return nil
	case t == componentType:
		return nil // checked with its type in componentKeysProblems
	case t.Kind() == reflect.Struct:
		fields := yamlFields(t)
		for _, mv := range mappingValues(n) {
			key := keyString(mv)
			if key == "<<" {
				continue
			}
			f, ok := fields[key]
			if !ok {
				add(mv, fmt.Sprintf("unknown key %q in %s (known: %s)", key, orTop(path), strings.Join(sortedKeys(fields), ", ")))
				continue
			}
			sub := join(path, key)
			if f.Type.Kind() == reflect.Map && f.Type.Elem() == reflect.PointerTo(componentType) {
				problems = append(problems, componentKeysProblems(mv.Value, kindOf(key), sub)...)
				continue
			}
			problems = append(problems, unknownKeys(mv.Value, f.Type, sub)...)
		}
	case t.Kind() == reflect.Map:
		for _, mv := range mappingValues(n) {
			problems = append(problems, unknownKeys(mv.Value, t.Elem(), join(path, keyString(mv)))...)
		}
	case t.Kind() == reflect.Slice:
		if s, ok := n.(*ast.SequenceNode); ok {
			for i, v := range s.Values {
				problems = append(problems, unknownKeys(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return problems
}

// componentKeysProblems checks the keys of a components section against the
// registered config type of each component.
func componentKeysProblems(n ast.Node, kind plugin.Kind, path string) []string {
	var problems []string
	for _, mv := range mappingValues(n) {
		name := keyString(mv)
		typ := name
		for _, inner := range mappingValues(mv.Value) {
			if keyString(inner) == "type" {
				if s, ok := inner.Value.(*ast.StringNode); ok {
					typ = s.Value
				}
			}
		}
		spec, ok := plugin.Lookup(kind, typ)
		if !ok {
			continue // reported by prepare, with the known types
		}
		var fields map[string]reflect.StructField
		var cfgType reflect.Type
		if spec.Config != nil {
			cfgType = reflect.TypeOf(spec.Config())
			for cfgType.Kind() == reflect.Pointer {
				cfgType = cfgType.Elem()
			}
			fields = yamlFields(cfgType)
		}
		for _, inner := range mappingValues(mv.Value) {
			key := keyString(inner)
			if componentKeys[key] {
				continue
			}
			f, ok := fields[key]
			if !ok {
				known := append(sortedKeys(fields), "enabled", "type")
				sort.Strings(known)
				pos := inner.Key.GetToken().Position
				problems = append(problems, fmt.Sprintf("line %d: unknown key %q in %s (a %s of type %s; known: %s)",
					pos.Line, key, join(path, name), kind, typ, strings.Join(known, ", ")))
				continue
			}
			problems = append(problems, unknownKeys(inner.Value, f.Type, join(join(path, name), key))...)
		}
	}
	return problems
}

func kindOf(section string) plugin.Kind {
	for _, k := range plugin.Kinds {
		if k.Section() == section {
			return k
		}
	}
	return ""
}

// yamlFields maps the YAML keys of a struct type to its fields, following
// inline embedded structs.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range yamlFields(ft) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

var positionPrefix = regexp.MustCompile(`^\[(\d+):\d+\] `)

// decodeProblem words a YAML error like the other problems: "line N: ...".
func decodeProblem(err error) string {
	return positionPrefix.ReplaceAllString(yaml.FormatError(err, false, false), "line $1: ")
}

// decodeNode decodes n into v. The YAML decoder can panic on some malformed
// input; a config file must never crash vigil, so that becomes an error.
func decodeNode(n ast.Node, v any, opts ...yaml.DecodeOption) (err error) {
	defer func() {
		if r := recover(); r != nil {
			line := 0
			if n != nil && n.GetToken() != nil {
				line = n.GetToken().Position.Line
			}
			err = fmt.Errorf("[%d:0] the YAML decoder cannot read this: %v", line, r)
		}
	}()
	return yaml.NodeToValue(n, v, opts...)
}

func parseBytes(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML parser cannot read this file: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}
