package samtemplate

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Package returns the Go package a function is built from, relative to dir (the project
// root): for BuildMethod makefile, the package the Makefile's build-<LogicalId> recipe
// builds; otherwise CodeUri.
func (f Function) Package(dir string) (string, error) {
	if f.BuildMethod == "makefile" {
		mk := filepath.Join(dir, f.CodeURI, "Makefile")
		pkg, err := makefilePackage(mk, "build-"+f.LogicalID)
		if err != nil {
			return "", err
		}
		return filepath.ToSlash(filepath.Join(f.CodeURI, pkg)), nil
	}
	if f.CodeURI == "" {
		return "", fmt.Errorf("%w: %s has no CodeUri", ErrTemplate, f.LogicalID)
	}
	return filepath.ToSlash(filepath.Clean(f.CodeURI)), nil
}

// Name is a short name for the function: the last element of its Go package, e.g.
// "create-order", or the logical id when the package is unknown.
func (f Function) Name(dir string) string {
	if pkg, err := f.Package(dir); err == nil && pkg != "." {
		return filepath.Base(pkg)
	}
	return f.LogicalID
}

// makefilePackage finds the `./path` argument of the go build in a Makefile target's
// recipe, following one level of variable-free make targets.
func makefilePackage(path, target string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	return makefileTarget(b, path, target, 0)
}

func makefileTarget(b []byte, path, target string, depth int) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	in := false
	var prereqs []string
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, target+":") {
			in = true
			prereqs = strings.Fields(strings.TrimPrefix(line, target+":"))
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			break
		}
		fields := strings.Fields(line)
		for i := len(fields) - 1; i >= 0; i-- {
			if f := fields[i]; strings.HasPrefix(f, "./") {
				return f, nil
			}
		}
	}
	if !in {
		return "", fmt.Errorf("%w: %s has no target %s", ErrTemplate, path, target)
	}
	// A target that only depends on another one builds what that one builds.
	for _, p := range prereqs {
		if depth < 3 && strings.HasPrefix(p, "build-") {
			return makefileTarget(b, path, p, depth+1)
		}
	}
	return "", fmt.Errorf("%w: %s target %s builds no ./package", ErrTemplate, path, target)
}
