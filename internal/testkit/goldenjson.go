package testkit

import (
	"encoding/json"
	"os"
	"testing"
)

// GoldenJSON compares v, as indented JSON, with the file at path (or rewrites the file
// with -update), and returns the file's bytes, for a test that reads the golden file
// back the way its consumer does.
func GoldenJSON(t testing.TB, path string, v any) []byte {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	Golden(t, path, append(got, '\n'))
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return want
}
