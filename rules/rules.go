// Package rules holds the Sigma rules built into vigil: the SigmaHQ AWS
// CloudTrail detection rules (sigmahq/, under the Detection Rule License
// 1.1, copied unchanged) and vigil's own detection and correlation rules
// (vigil/). The rules section of the config (rules.builtin) turns them on
// or off; rules.paths adds a team's own.
package rules

import (
	"embed"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
)

// Config is the rules section of vigil's config.
type Config struct {
	// Builtin runs the rules compiled into vigil (package rules: the
	// SigmaHQ CloudTrail rules and vigil's own). Default true.
	Builtin bool `yaml:"builtin"`
	// Paths are Sigma rule files and directories, searched recursively
	// for *.yml and *.yaml: detection rules, correlation rules and
	// filters. Default: none.
	Paths []string `yaml:"paths"`
	// Disable lists rules to switch off, by id or name. Default: none.
	Disable []string `yaml:"disable"`
	// Logsources map a rule's logsource to the datasets it runs on. A
	// rule runs on the datasets of every entry whose fields it has (an
	// entry's empty fields match anything). Default: DefaultLogsources.
	Logsources []Logsource `yaml:"logsources"`
	// Placeholders are the values of the expand modifier's placeholders,
	// by name without percent signs. Default: none.
	Placeholders map[string][]string `yaml:"placeholders"`
	// Reload watches Paths and reloads the rules when a file changes.
	// SIGHUP reloads them either way. Default true.
	Reload bool `yaml:"reload"`
}

// Logsource maps a Sigma logsource to datasets.
type Logsource struct {
	Product  string   `yaml:"product"`
	Service  string   `yaml:"service"`
	Category string   `yaml:"category"`
	Datasets []string `yaml:"datasets"`
}

func (l Logsource) String() string {
	var parts []string
	for _, kv := range [][2]string{{"product", l.Product}, {"service", l.Service}, {"category", l.Category}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+": "+kv[1])
		}
	}
	if len(parts) == 0 {
		return "any logsource"
	}
	return strings.Join(parts, ", ")
}

// DefaultLogsources map the AWS logsources of SigmaHQ's taxonomy to the
// datasets of vigil's decoders.
var DefaultLogsources = []Logsource{
	{Product: "aws", Service: "cloudtrail", Datasets: []string{"cloudtrail"}},
	{Product: "aws", Service: "guardduty", Datasets: []string{"guardduty"}},
	{Product: "aws", Service: "macie", Datasets: []string{"macie"}},
	{Product: "aws", Service: "vpcflowlogs", Datasets: []string{"vpcflow"}},
}

// DefaultConfig returns the section's defaults.
func DefaultConfig() Config {
	return Config{Builtin: true, Reload: true, Logsources: slices.Clone(DefaultLogsources)}
}

//go:embed sigmahq vigil
var files embed.FS

// FS returns the built-in rules.
func FS() fs.FS { return files }

// Prefix begins the file names of built-in rules in problems and alerts
// ("builtin:sigmahq/aws/cloudtrail/aws_root_account_usage.yml").
const Prefix = "builtin:"

// File is one built-in rule file.
type File struct {
	// Name is the file's name, Prefix and its path here.
	Name string
	Data []byte
}

// Files returns every built-in rule file, sorted by name.
func Files() []File {
	var out []File
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := path.Ext(p); ext != ".yml" && ext != ".yaml" {
			return nil
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, File{Name: Prefix + p, Data: data})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// IsBuiltin reports whether a rule file name is a built-in rule's.
func IsBuiltin(name string) bool { return strings.HasPrefix(name, Prefix) }
