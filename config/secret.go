package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// Secret is a credential read from an environment variable or a file, so that
// it never sits in the config file and never reaches a log. In YAML it is
// written {env: NAME} or {file: /path}.
type Secret struct {
	// Env names the environment variable that holds the secret.
	Env string `yaml:"env"`
	// File is the path of a file that holds the secret; surrounding
	// whitespace is trimmed.
	File string `yaml:"file"`
}

// errPlainSecret is returned for a secret written inline.
var errPlainSecret = errors.New("secrets are read from the environment or a file: write {env: NAME} or {file: /path}, not the secret itself")

// UnmarshalYAML rejects plain strings.
func (s *Secret) UnmarshalYAML(n ast.Node) error {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
	case *ast.NullNode:
		return nil
	default:
		return fmt.Errorf("line %d: %w", n.GetToken().Position.Line, errPlainSecret)
	}
	type plain Secret
	return decodeNode(n, (*plain)(s), yaml.Strict())
}

// IsSet reports whether a source for the secret is configured.
func (s Secret) IsSet() bool { return s.Env != "" || s.File != "" }

// Value reads the secret. It returns an error if the variable is unset or
// empty or the file cannot be read.
func (s Secret) Value() (string, error) {
	switch {
	case s.Env != "" && s.File != "":
		return "", errors.New("secret sets both env and file")
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		return v, nil
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", s.File)
		}
		return v, nil
	}
	return "", errors.New("secret is not configured")
}

// String never shows the secret.
func (s Secret) String() string {
	switch {
	case s.Env != "":
		return "env:" + s.Env
	case s.File != "":
		return "file:" + s.File
	}
	return "unset"
}
