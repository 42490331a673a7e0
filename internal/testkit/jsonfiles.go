package testkit

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// JSONFiles runs test as a subtest, named for the file, on each of at least atLeast
// files matching pattern, with the file decoded into a fresh V. A field V does not know
// fails the subtest: a fixture that says more than its type reads is stale.
func JSONFiles[V any](t *testing.T, pattern string, atLeast int, test func(t *testing.T, path string, v *V)) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) < atLeast {
		t.Fatalf("%s: %d files (%v), want at least %d", pattern, len(files), err, atLeast)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			v := new(V)
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(v); err != nil {
				t.Fatalf("not a %T: %v", *v, err)
			}
			test(t, f, v)
		})
	}
}
