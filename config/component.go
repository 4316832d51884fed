package config

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/vigilsec/vigil/plugin"
)

// Component is one configured source, app or sink.
type Component struct {
	// Type is the registered component type. Default: the component's name.
	Type string
	// Enabled turns the component on. Default true.
	Enabled bool
	// Config is the decoded config of the component's type, a pointer to its
	// config struct; nil for a type that takes no options.
	Config any

	// Kind and Name are set when the configuration is loaded.
	Kind plugin.Kind
	Name string

	node ast.Node // the component's mapping, decoded into Config by prepare
}

// componentKeys are the keys every component has besides its type's options.
var componentKeys = map[string]bool{"type": true, "enabled": true}

// UnmarshalYAML keeps the node; it is decoded once the type is known.
func (c *Component) UnmarshalYAML(n ast.Node) error {
	c.node = n
	c.Enabled = true
	for _, mv := range mappingValues(n) {
		switch keyString(mv) {
		case "type":
			if err := decodeNode(mv.Value, &c.Type, yaml.Strict()); err != nil {
				return err
			}
		case "enabled":
			if err := decodeNode(mv.Value, &c.Enabled, yaml.Strict()); err != nil {
				return err
			}
		}
	}
	return nil
}

// optionsNode returns the component's mapping without the common keys.
func (c *Component) optionsNode() ast.Node {
	var keep []*ast.MappingValueNode
	for _, mv := range mappingValues(c.node) {
		if !componentKeys[keyString(mv)] {
			keep = append(keep, mv)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	return ast.Mapping(keep[0].GetToken(), false, keep...)
}

// prepare fills in Kind, Name and Type and decodes the type's options into a
// fresh config holding the type's defaults.
func (c *Component) prepare(kind plugin.Kind, name string) error {
	c.Kind, c.Name = kind, name
	if c.Type == "" {
		c.Type = name
	}
	spec, ok := plugin.Lookup(kind, c.Type)
	if !ok {
		return fmt.Errorf("%s.%s: unknown %s type %q (known: %s)", kind.Section(), name, kind, c.Type, strings.Join(plugin.Names(kind), ", "))
	}
	if spec.Config == nil {
		if n := c.optionsNode(); n != nil {
			return fmt.Errorf("%s.%s: type %q takes no options", kind.Section(), name, c.Type)
		}
		return nil
	}
	c.Config = spec.Config()
	if n := c.optionsNode(); n != nil {
		if err := decodeNode(n, c.Config); err != nil {
			return fmt.Errorf("%s.%s: %s", kind.Section(), name, decodeProblem(err))
		}
	}
	return nil
}

// mappingValues returns the entries of a mapping node; nil for anything else.
func mappingValues(n ast.Node) []*ast.MappingValueNode {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}
	case *ast.AnchorNode:
		return mappingValues(m.Value)
	case *ast.TagNode:
		return mappingValues(m.Value)
	}
	return nil
}

func keyString(mv *ast.MappingValueNode) string {
	if mv.Key == nil {
		return ""
	}
	if s, ok := mv.Key.(*ast.StringNode); ok {
		return s.Value
	}
	return mv.Key.String()
}
