package sigma

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	yast "github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// nodeKind is the shape of a YAML node.
type nodeKind int

const (
	mapNode nodeKind = iota
	seqNode
	scalarNode
)

// node is a YAML value with the position of each part: the goccy AST
// reduced to what Sigma needs (maps with ordered string keys, sequences,
// typed scalars), with anchors resolved. Nodes are never modified once
// built; merging documents of a collection builds new maps.
type node struct {
	kind nodeKind
	pos  ast.Pos

	// entries of a map, in file order.
	entries []entry
	// items of a sequence.
	items []*node

	// scalar is the value of a scalar node.
	scalar ast.Value
	// textCol is the column of the first character of a string scalar
	// whose characters map one to one to the file (one line, no
	// escapes), or 0.
	textCol int
	// size counts the nodes under this one, to bound alias expansion.
	size int
}

// entry is one key of a map.
type entry struct {
	key    string
	keyPos ast.Pos
	val    *node
}

// get returns the value and key position of key in a map node.
func (n *node) get(key string) (*node, ast.Pos, bool) {
	if n == nil || n.kind != mapNode {
		return nil, ast.Pos{}, false
	}
	for _, e := range n.entries {
		if e.key == key {
			return e.val, e.keyPos, true
		}
	}
	return nil, ast.Pos{}, false
}

// isNull reports whether n is absent or a null scalar.
func (n *node) isNull() bool {
	return n == nil || (n.kind == scalarNode && n.scalar.Kind == ast.Null)
}

// describe names the kind of a node for messages.
func (n *node) describe() string {
	switch {
	case n == nil:
		return "nothing"
	case n.kind == mapNode:
		return "a map"
	case n.kind == seqNode:
		return "a list"
	}
	switch n.scalar.Kind {
	case ast.Number:
		return "a number"
	case ast.Bool:
		return "a boolean"
	case ast.Null:
		return "null"
	}
	return "a string"
}

// maxNodes bounds the nodes of one file, aliases expanded, so that a
// "billion laughs" file cannot exhaust memory.
const maxNodes = 200000

// maxDepth bounds the nesting of YAML values; no rule needs more than a
// handful of levels.
const maxDepth = 64

// yamlDoc is one document of a file.
type yamlDoc struct {
	body *node // nil for an empty document
	pos  ast.Pos
}

// errTooLarge is returned for files that expand to more than maxNodes.
var errTooLarge = errors.New("the file expands to too many YAML nodes (aliases nested too deep?)")

// parseYAML parses the documents of a file. A syntax error gives a
// problem at its position and no documents.
func parseYAML(file string, data []byte) (docs []yamlDoc, prob *ast.Problem) {
	defer func() {
		// goccy/go-yaml is a large parser; a panic on odd input must
		// not take down a reload or the linter.
		if r := recover(); r != nil {
			docs = nil
			prob = &ast.Problem{Pos: ast.Pos{File: file}, Severity: ast.Error, Msg: fmt.Sprintf("cannot parse YAML: parser failed: %v", r)}
		}
	}()
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		p := ast.Problem{Pos: ast.Pos{File: file}, Severity: ast.Error, Msg: "YAML: " + err.Error()}
		var ye yaml.Error
		if errors.As(err, &ye) {
			p.Msg = "YAML: " + ye.GetMessage()
			p.Pos = tokPos(file, ye.GetToken())
		}
		return nil, &p
	}
	c := &converter{file: file, anchors: map[string]*node{}}
	for _, d := range f.Docs {
		if d == nil {
			continue
		}
		doc := yamlDoc{pos: ast.Pos{File: file}}
		if d.Start != nil {
			doc.pos = tokPos(file, d.Start)
		}
		if d.Body != nil {
			n, err := c.convert(d.Body, 0)
			if err != nil {
				var ce *convError
				if errors.As(err, &ce) {
					return nil, &ast.Problem{Pos: ce.pos, Severity: ast.Error, Msg: "YAML: " + ce.msg}
				}
				return nil, &ast.Problem{Pos: ast.Pos{File: file}, Severity: ast.Error, Msg: "YAML: " + err.Error()}
			}
			doc.body = n
			if n != nil {
				doc.pos = n.pos
			}
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

type convError struct {
	pos ast.Pos
	msg string
}

func (e *convError) Error() string { return e.msg }

type converter struct {
	file    string
	anchors map[string]*node
	total   int
}

func tokPos(file string, tk *token.Token) ast.Pos {
	if tk == nil || tk.Position == nil {
		return ast.Pos{File: file}
	}
	return ast.Pos{File: file, Line: tk.Position.Line, Col: tk.Position.Column}
}

func (c *converter) pos(n yast.Node) ast.Pos {
	if n == nil {
		return ast.Pos{File: c.file}
	}
	return tokPos(c.file, n.GetToken())
}

func (c *converter) add(n *node) (*node, error) {
	c.total += n.size
	if c.total > maxNodes {
		return nil, errTooLarge
	}
	return n, nil
}

// convert turns a goccy node into a node.
func (c *converter) convert(n yast.Node, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, &convError{c.pos(n), fmt.Sprintf("values nested more than %d levels deep", maxDepth)}
	}
	switch v := n.(type) {
	case nil:
		return nil, nil
	case *yast.DocumentNode:
		return c.convert(v.Body, depth)
	case *yast.MappingNode:
		out := &node{kind: mapNode, pos: c.pos(v), size: 1}
		for _, mv := range v.Values {
			if err := c.mapValue(out, mv, depth); err != nil {
				return nil, err
			}
		}
		if len(out.entries) > 0 {
			out.pos = out.entries[0].keyPos
		}
		return c.add(out)
	case *yast.MappingValueNode:
		out := &node{kind: mapNode, size: 1}
		if err := c.mapValue(out, v, depth); err != nil {
			return nil, err
		}
		out.pos = c.pos(v)
		if len(out.entries) > 0 {
			out.pos = out.entries[0].keyPos
		}
		return c.add(out)
	case *yast.SequenceNode:
		out := &node{kind: seqNode, pos: c.pos(v), size: 1}
		for _, it := range v.Values {
			cn, err := c.convert(it, depth+1)
			if err != nil {
				return nil, err
			}
			if cn == nil {
				cn = &node{kind: scalarNode, pos: c.pos(it), scalar: ast.Value{Kind: ast.Null, Str: ""}, size: 1}
			}
			out.items = append(out.items, cn)
			out.size += cn.size
		}
		return c.add(out)
	case *yast.AnchorNode:
		val, err := c.convert(v.Value, depth)
		if err != nil {
			return nil, err
		}
		if v.Name != nil {
			c.anchors[v.Name.GetToken().Value] = val
		}
		return val, nil
	case *yast.AliasNode:
		name := ""
		if v.Value != nil {
			name = v.Value.GetToken().Value
		}
		val, ok := c.anchors[name]
		if !ok {
			return nil, &convError{c.pos(v), fmt.Sprintf("alias *%s refers to no anchor defined before it", name)}
		}
		if val == nil {
			return nil, nil
		}
		// The alias shares the anchored node; count its size again so
		// that nested aliases cannot expand without bound.
		c.total += val.size
		if c.total > maxNodes {
			return nil, errTooLarge
		}
		return val, nil
	case *yast.TagNode:
		val, err := c.convert(v.Value, depth)
		if err != nil || val == nil {
			return val, err
		}
		if v.Start != nil && (v.Start.Value == "!!str" || v.Start.Value == "tag:yaml.org,2002:str") && val.kind == scalarNode && val.scalar.Kind != ast.String {
			s := *val
			s.scalar = ast.Value{Pos: val.pos, Kind: ast.String, Str: val.scalar.Str}
			return &s, nil
		}
		return val, nil
	case *yast.CommentGroupNode, *yast.CommentNode, *yast.DirectiveNode:
		return nil, nil
	}
	return c.scalar(n)
}

// scalar converts a scalar node.
func (c *converter) scalar(n yast.Node) (*node, error) {
	p := c.pos(n)
	tk := n.GetToken()
	out := &node{kind: scalarNode, pos: p, size: 1}
	val := ast.Value{Pos: p}
	switch v := n.(type) {
	case *yast.StringNode:
		val.Kind, val.Str = ast.String, v.Value
		if tk != nil && tk.Position != nil {
			// The columns of the value map to the file only when it is
			// written on one line without escapes.
			raw := strings.TrimSpace(tk.Origin)
			switch tk.Type {
			case token.StringType:
				if raw == v.Value {
					out.textCol = tk.Position.Column
				}
			case token.SingleQuoteType, token.DoubleQuoteType:
				if len(raw) >= 2 && raw[1:len(raw)-1] == v.Value && !strings.ContainsAny(raw, "\r\n") {
					out.textCol = tk.Position.Column + 1
				}
			}
		}
	case *yast.LiteralNode:
		val.Kind = ast.String
		if v.Value != nil {
			val.Str = v.Value.Value
		}
	case *yast.IntegerNode:
		val.Kind, val.Str = ast.Number, tk.Value
		switch x := v.Value.(type) {
		case int64:
			val.Num = float64(x)
		case uint64:
			val.Num = float64(x)
		default:
			val.Num, _ = strconv.ParseFloat(tk.Value, 64)
		}
	case *yast.FloatNode:
		val.Kind, val.Str, val.Num = ast.Number, tk.Value, v.Value
	case *yast.InfinityNode:
		val.Kind, val.Str, val.Num = ast.Number, tk.Value, v.Value
	case *yast.NanNode:
		val.Kind, val.Str, val.Num = ast.Number, tk.Value, math.NaN()
	case *yast.BoolNode:
		val.Kind, val.Str, val.Bool = ast.Bool, tk.Value, v.Value
	case *yast.NullNode:
		val.Kind = ast.Null
		if tk != nil && tk.Type != token.ImplicitNullType {
			val.Str = tk.Value
		}
	case *yast.MergeKeyNode:
		val.Kind, val.Str = ast.String, "<<"
	default:
		if sn, ok := n.(yast.ScalarNode); ok {
			val.Kind, val.Str = ast.String, fmt.Sprint(sn.GetValue())
		} else {
			return nil, &convError{p, fmt.Sprintf("unsupported YAML node %s", n.Type())}
		}
	}
	out.scalar = val
	return c.add(out)
}

// mapValue adds one key of a mapping to out; a merge key (<<) adds the
// keys of the maps it names that out does not have yet.
func (c *converter) mapValue(out *node, mv *yast.MappingValueNode, depth int) error {
	if mv == nil {
		return nil
	}
	var keyNode yast.Node = mv.Key
	if mk, ok := keyNode.(*yast.MappingKeyNode); ok {
		keyNode = mk.Value
	}
	val, err := c.convert(mv.Value, depth+1)
	if err != nil {
		return err
	}
	if keyNode == nil {
		return &convError{c.pos(mv), "mapping key is missing"}
	}
	if _, ok := keyNode.(*yast.MergeKeyNode); ok {
		var srcs []*node
		switch {
		case val == nil:
		case val.kind == mapNode:
			srcs = []*node{val}
		case val.kind == seqNode:
			srcs = val.items
		}
		for _, s := range srcs {
			if s.kind != mapNode {
				return &convError{s.pos, "a merge key (<<) takes a map or a list of maps"}
			}
			for _, e := range s.entries {
				if _, _, dup := out.get(e.key); !dup {
					out.entries = append(out.entries, e)
					out.size += e.val.sizeOrOne()
				}
			}
		}
		return nil
	}
	kn, err := c.convert(keyNode, depth+1)
	if err != nil {
		return err
	}
	if kn == nil || kn.kind != scalarNode {
		return &convError{c.pos(keyNode), "mapping keys must be scalars"}
	}
	key := kn.scalar.Str
	if _, prev, dup := out.get(key); dup {
		return &convError{kn.pos, fmt.Sprintf("mapping key %q is already defined at line %d", key, prev.Line)}
	}
	if val == nil {
		val = &node{kind: scalarNode, pos: c.pos(mv.Value), scalar: ast.Value{Kind: ast.Null}, size: 1}
		if mv.Value == nil {
			val.pos = kn.pos
		}
		val.scalar.Pos = val.pos
	}
	out.entries = append(out.entries, entry{key: key, keyPos: kn.pos, val: val})
	out.size += val.size
	return nil
}

func (n *node) sizeOrOne() int {
	if n == nil {
		return 1
	}
	return n.size
}

// toAny converts a node to the values encoding/json would decode, for
// JSON schema validation and custom attributes.
func (n *node) toAny() any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case mapNode:
		m := make(map[string]any, len(n.entries))
		for _, e := range n.entries {
			m[e.key] = e.val.toAny()
		}
		return m
	case seqNode:
		l := make([]any, len(n.items))
		for i, it := range n.items {
			l[i] = it.toAny()
		}
		return l
	}
	switch n.scalar.Kind {
	case ast.Number:
		if math.IsNaN(n.scalar.Num) || math.IsInf(n.scalar.Num, 0) {
			return n.scalar.Str
		}
		if n.scalar.Num == math.Trunc(n.scalar.Num) && math.Abs(n.scalar.Num) < 1<<53 {
			return int64(n.scalar.Num)
		}
		return n.scalar.Num
	case ast.Bool:
		return n.scalar.Bool
	case ast.Null:
		return nil
	}
	return n.scalar.Str
}
