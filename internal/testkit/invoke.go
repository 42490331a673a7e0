package testkit

import (
	"os"
	"testing"

	"github.com/ordersync/ordersync/local/runtimeapi"
)

// InvokeFile invokes fn with the event in the file at path, such as a sample of events/,
// and returns the function's response. A file that cannot be read or an invocation that
// fails ends t.
func InvokeFile(t testing.TB, fn *runtimeapi.Function, path string) []byte {
	t.Helper()
	payload, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := fn.Invoke(t.Context(), payload)
	if err != nil {
		t.Fatalf("invoke with %s: %v", path, err)
	}
	return out
}
