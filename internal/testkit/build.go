package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// builds holds the binaries Build made, in one directory that Main removes.
var builds struct {
	mu   sync.Mutex
	dir  string
	bins map[string]*binary
}

type binary struct {
	once sync.Once
	path string
	err  error
}

// Build returns the path of a binary of pkg (an import path, or a path relative to the
// test's package) built with the given build tags, once per test binary. It skips with
// -short. The package's TestMain must call Main, which removes the binaries.
func Build(t testing.TB, pkg string, tags ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("builds %s; skipped with -short", pkg)
	}
	requireMain(t, "Build")
	key := pkg + " " + strings.Join(tags, ",")
	builds.mu.Lock()
	if builds.bins == nil {
		builds.bins = map[string]*binary{}
	}
	b, ok := builds.bins[key]
	if !ok {
		b = &binary{}
		builds.bins[key] = b
	}
	n := len(builds.bins)
	builds.mu.Unlock()
	b.once.Do(func() { b.path, b.err = build(pkg, tags, n) })
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func build(pkg string, tags []string, n int) (string, error) {
	builds.mu.Lock()
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "ordersync-build-")
		if err != nil {
			builds.mu.Unlock()
			return "", fmt.Errorf("build %s: %w", pkg, err)
		}
		builds.dir = dir
	}
	dir := filepath.Join(builds.dir, strconv.Itoa(n))
	builds.mu.Unlock()
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	bin := filepath.Join(dir, path.Base(filepath.ToSlash(pkg)))
	args := []string{"build", "-o", bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	out, err := exec.Command("go", append(args, pkg)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(append(args, pkg), " "), err, out)
	}
	return bin, nil
}

func removeBuilds() error {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir == "" {
		return nil
	}
	return os.RemoveAll(builds.dir)
}
