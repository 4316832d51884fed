package sigma

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// The official JSON schemas of the Sigma specification; see
// schema/README.md.
//
//go:embed schema/*.json
var schemaFS embed.FS

var schemaFiles = map[ast.Kind]string{
	ast.KindDetection:   "sigma-detection-rule-schema.json",
	ast.KindCorrelation: "sigma-correlation-rules-schema.json",
	ast.KindFilter:      "sigma-filters-schema.json",
}

// compiledSchemas compiles the embedded schemas once.
var compiledSchemas = sync.OnceValues(func() (map[ast.Kind]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	out := map[ast.Kind]*jsonschema.Schema{}
	for k, name := range schemaFiles {
		data, err := schemaFS.ReadFile("schema/" + name)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		url := "urn:vigil:sigma:" + name
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		s, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[k] = s
	}
	return out, nil
})

var printer = message.NewPrinter(language.English)

// validateSchema checks a rule document against the JSON schema of its
// kind and returns the violations as errors at the line of the value at
// fault. A violation on a line where the native checks already reported
// something (in native) is left out: the native message says it better.
func validateSchema(file string, k ast.Kind, body *node, ruleKey string, native []ast.Problem) []ast.Problem {
	schemas, err := compiledSchemas()
	if err != nil {
		// The schemas are embedded and tested; this cannot happen in a
		// released binary.
		return []ast.Problem{{Pos: ast.Pos{File: file}, Severity: ast.Error, Rule: ruleKey, Msg: "the Sigma JSON schemas do not compile: " + err.Error()}}
	}
	s := schemas[k]
	if s == nil {
		return nil
	}
	err = s.Validate(body.toAny())
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	lines := map[int]bool{}
	for _, p := range native {
		if p.Pos.File == file {
			lines[p.Pos.Line] = true
		}
	}
	var out []ast.Problem
	seen := map[string]bool{}
	for _, l := range flattenSchemaError(ve) {
		pos := locate(body, l.path)
		pos.File = file
		if lines[pos.Line] {
			continue
		}
		msg := fmt.Sprintf("JSON schema (%s): %s: %s", schemaFiles[k], pointer(l.path), l.msg)
		if seen[msg] {
			continue
		}
		seen[msg] = true
		out = append(out, ast.Problem{Pos: pos, Severity: ast.Error, Rule: ruleKey, Msg: msg})
	}
	return out
}

type schemaLeaf struct {
	path []string
	msg  string
}

// flattenSchemaError turns the tree of a validation error into one
// message per failing value: the alternatives of anyOf and oneOf are
// folded into one message.
func flattenSchemaError(e *jsonschema.ValidationError) []schemaLeaf {
	var out []schemaLeaf
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		switch e.ErrorKind.(type) {
		case *kind.AnyOf, *kind.OneOf:
			if len(e.Causes) == 0 {
				out = append(out, schemaLeaf{e.InstanceLocation, e.ErrorKind.LocalizedString(printer)})
				return
			}
			var consts []string
			var alts []string
			for _, c := range e.Causes {
				if k, ok := c.ErrorKind.(*kind.Const); ok && len(c.Causes) == 0 {
					consts = append(consts, fmt.Sprintf("%v", k.Want))
					continue
				}
				for _, l := range flattenSchemaError(c) {
					alts = append(alts, l.msg)
				}
			}
			switch {
			case len(alts) == 0:
				out = append(out, schemaLeaf{e.InstanceLocation, "must be one of " + strings.Join(consts, ", ")})
			default:
				alts = slices.Compact(alts)
				out = append(out, schemaLeaf{e.InstanceLocation, "matches none of the allowed forms: " + strings.Join(alts, "; or ")})
			}
			return
		}
		if len(e.Causes) == 0 {
			out = append(out, schemaLeaf{e.InstanceLocation, e.ErrorKind.LocalizedString(printer)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(e)
	return out
}

// locate finds the position of the value at a JSON pointer's tokens: the
// key of a map entry, an item of a list, or the nearest enclosing one
// that exists.
func locate(body *node, path []string) ast.Pos {
	pos := body.pos
	n := body
	for _, tok := range path {
		switch n.kind {
		case mapNode:
			v, kp, ok := n.get(tok)
			if !ok {
				return pos
			}
			n, pos = v, kp
		case seqNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.items) {
				return pos
			}
			n = n.items[i]
			pos = n.pos
		default:
			return pos
		}
	}
	return pos
}

func pointer(path []string) string {
	if len(path) == 0 {
		return "the document"
	}
	var b strings.Builder
	for _, p := range path {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1"))
	}
	return b.String()
}
