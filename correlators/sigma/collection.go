package sigma

import (
	"fmt"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// A rule collection is a file of several documents, some of them with an
// "action" attribute (Sigma specification 1, kept by pySigma):
//
//   - action: global holds attributes merged into every following
//     document, until the next global or reset;
//   - action: reset drops the global attributes;
//   - action: repeat is the previous rule again, with the attributes of
//     this document merged over it.
//
// Maps merge key by key, recursively; for other values the document's
// own value wins over the global one (pySigma lets the global one win, so
// such a conflict gets a warning).

// mergedDoc is one rule document after the collection actions.
type mergedDoc struct {
	body  *node
	index int // 1-based number of the document in the file
}

// expandCollection applies the collection actions to the documents of a
// file.
func expandCollection(file string, docs []yamlDoc) ([]mergedDoc, []ast.Problem) {
	var (
		out        []mergedDoc
		probs      []ast.Problem
		global     *node
		globalPos  ast.Pos
		globalUsed bool
		prev       *node
	)
	report := func(pos ast.Pos, sev ast.Severity, format string, args ...any) {
		if pos.File == "" {
			pos.File = file
		}
		probs = append(probs, ast.Problem{Pos: pos, Severity: sev, Msg: fmt.Sprintf(format, args...)})
	}
	unusedGlobal := func() {
		if global != nil && !globalUsed {
			report(globalPos, ast.Warning, "the global document (action: global) applies to no rule: no rule document follows it")
		}
	}
	for i, doc := range docs {
		body := doc.body
		if body == nil {
			continue // an empty document, such as after a final "---"
		}
		act, actPos, hasAction := body.get("action")
		if !hasAction {
			merged := body
			if global != nil {
				merged = mergeInto(body, global, func(key string, keyPos, globalKeyPos ast.Pos) {
					report(keyPos, ast.Warning, "%q here overrides the one in the global document at line %d (pySigma would keep the global one)", key, globalKeyPos.Line)
				})
				globalUsed = true
			}
			out = append(out, mergedDoc{body: merged, index: i + 1})
			prev = merged
			continue
		}
		action := ""
		if act.kind == scalarNode {
			action = act.scalar.Str
		}
		rest := without(body, "action")
		switch action {
		case "global":
			unusedGlobal()
			global, globalPos, globalUsed = rest, actPos, false
			prev = nil
		case "reset":
			if global == nil {
				report(actPos, ast.Warning, "action: reset, but no global document precedes it")
			}
			if len(rest.entries) > 0 {
				report(rest.entries[0].keyPos, ast.Warning, "the attributes of a reset document are ignored")
			}
			unusedGlobal()
			global = nil
		case "repeat":
			if prev == nil {
				report(actPos, ast.Error, "action: repeat, but no rule document precedes it to repeat")
				continue
			}
			merged := mergeInto(rest, prev, nil)
			merged.pos = actPos
			out = append(out, mergedDoc{body: merged, index: i + 1})
			prev = merged
		default:
			report(actPos, ast.Error, "action %q is not a rule collection action (global, reset or repeat); the document is skipped", action)
		}
	}
	unusedGlobal()
	return out, probs
}

// without returns map n without key.
func without(n *node, key string) *node {
	out := *n
	out.entries = nil
	for _, e := range n.entries {
		if e.key != key {
			out.entries = append(out.entries, e)
		}
	}
	if len(out.entries) > 0 {
		out.pos = out.entries[0].keyPos
	}
	return &out
}

// mergeInto returns the map doc merged over base: the keys of base, then
// those only doc has; where both have a map, the maps merge the same way;
// elsewhere doc's value wins, and conflict (if not nil) is told of it.
func mergeInto(doc, base *node, conflict func(key string, keyPos, baseKeyPos ast.Pos)) *node {
	out := &node{kind: mapNode, pos: doc.pos, size: 1}
	for _, b := range base.entries {
		e := b
		if dv, dpos, ok := doc.get(b.key); ok {
			e.keyPos = dpos
			if dv.kind == mapNode && b.val.kind == mapNode {
				e.val = mergeInto(dv, b.val, conflict)
			} else {
				e.val = dv
				if conflict != nil {
					conflict(b.key, dpos, b.keyPos)
				}
			}
		}
		out.entries = append(out.entries, e)
		out.size += e.val.size
	}
	for _, e := range doc.entries {
		if _, _, ok := base.get(e.key); !ok {
			out.entries = append(out.entries, e)
			out.size += e.val.size
		}
	}
	return out
}
