package testkit

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

// update is the one -update flag of every package that imports testkit.
var update = flag.Bool("update", false, "rewrite golden files instead of comparing with them")

// Updating reports whether the run was started with -update, for tests that rewrite
// generated files other than through Golden.
func Updating() bool { return *update }

// Golden compares got with the file at path, or rewrites the file with -update.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("update golden file: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	line, g, w := firstDiff(got, want)
	t.Errorf("%s differs at line %d (go test -update rewrites it, once the change is checked):\n got: %q\nwant: %q", path, line, g, w)
}

// firstDiff returns the number and text of the first line where got and want differ.
func firstDiff(got, want []byte) (int, []byte, []byte) {
	gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; ; i++ {
		var g, w []byte
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if !bytes.Equal(g, w) || i >= len(gl) || i >= len(wl) {
			return i + 1, g, w
		}
	}
}
