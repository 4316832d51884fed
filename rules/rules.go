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
	"sort"
	"strings"
)

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
