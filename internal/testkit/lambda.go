package testkit

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ordersync/ordersync/local/runtimeapi"
)

// Bootstrap builds the package in the test's directory as the provided runtime runs it
// (tag lambda.norpc) and returns the path of the binary, named bootstrap, in a
// directory t removes.
func Bootstrap(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	if out, err := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Lambda runs cfg's binary under the Runtime API emulator until t ends: it keeps the
// function's output and logs it if t failed. cfg's Output and Logf are set here.
func Lambda(t testing.TB, cfg runtimeapi.Config) *runtimeapi.Function {
	t.Helper()
	var logs bytes.Buffer
	cfg.Output = func(int) io.Writer { return &logs }
	cfg.Logf = t.Logf
	fn, err := runtimeapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		fn.Close(ctx)
		if t.Failed() {
			t.Logf("function output:\n%s", logs.String())
		}
	})
	return fn
}
