package file

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// glob returns the files pattern matches, sorted. Besides filepath.Match's
// syntax, a path element "**" matches any number of directories (none
// included), as in /data/AWSLogs/**/*.json.gz.
func glob(pattern string) ([]string, error) {
	if !hasDoubleStar(pattern) {
		m, err := filepath.Glob(pattern)
		sort.Strings(m)
		return m, err
	}
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	parts := strings.Split(filepath.ToSlash(pattern), "/")
	// The walk starts at the longest leading run of elements without
	// pattern characters.
	i := 0
	for i < len(parts)-1 && !hasMeta(parts[i]) {
		i++
	}
	root := strings.Join(parts[:i], "/")
	switch {
	case root == "" && strings.HasPrefix(pattern, "/"):
		root = "/"
	case root == "":
		root = "."
	}
	rest := parts[i:]
	var out []string
	err := filepath.WalkDir(filepath.FromSlash(root), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts of the tree are skipped, as filepath.Glob does
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(filepath.FromSlash(root), p)
		if err != nil {
			return nil
		}
		if matchParts(rest, strings.Split(filepath.ToSlash(rel), "/")) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

func hasDoubleStar(pattern string) bool {
	for _, p := range strings.Split(filepath.ToSlash(pattern), "/") {
		if p == "**" {
			return true
		}
	}
	return false
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// matchParts matches path elements against pattern elements, "**" matching
// any number of elements.
func matchParts(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			pat = pat[1:]
			if len(pat) == 0 {
				return true
			}
			for i := range len(name) + 1 {
				if matchParts(pat, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := filepath.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// regular stats path and reports whether it is a regular file (a symbolic
// link to one counts).
func regular(path string) (os.FileInfo, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, false
	}
	return fi, true
}
