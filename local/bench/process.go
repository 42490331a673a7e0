package main

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// command runs name with args in dir and returns its standard output.
func command(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %v: %w\n%s", name, args, err, stderr.String())
	}
	return stdout.String(), nil
}

// lambdaFlags are the flags every function is built with (the Makefile's recipe).
var lambdaFlags = []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}

// buildLambda builds pkg like the Makefile does, for goos/goarch, into out.
func buildLambda(ctx context.Context, root, pkg, out, goos, goarch string) error {
	args := append(slices.Clone(lambdaFlags), "-o", out, pkg)
	_, err := command(ctx, root, []string{"CGO_ENABLED=0", "GOOS=" + goos, "GOARCH=" + goarch}, "go", args...)
	return err
}

// functions are the measured binaries, each against the hello baseline.
var functions = []struct{ name, pkg string }{
	{"create-order", "./functions/create-order"},
	{"validate-order", "./functions/validate-order"},
}

// getOrders is the read side: measured for size and init, against hello too; its first
// invoke needs a database, so it has no first-invoke row.
var getOrders = struct{ name, pkg string }{"get-orders", "./functions/get-orders"}

const helloPkg = "./local/bench/testdata/hello"

func sizeRows(ctx context.Context, root, work string) ([]row, error) {
	size := func(name, pkg string) (int64, error) {
		out := filepath.Join(work, "arm64", name, "bootstrap")
		if err := buildLambda(ctx, root, pkg, out, "linux", "arm64"); err != nil {
			return 0, err
		}
		f, err := elf.Open(out)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		if f.Machine != elf.EM_AARCH64 {
			return 0, fmt.Errorf("%s is %v, want aarch64", out, f.Machine)
		}
		st, err := os.Stat(out)
		if err != nil {
			return 0, err
		}
		return st.Size(), nil
	}
	base, err := size("hello", helloPkg)
	if err != nil {
		return nil, err
	}
	var rows []row
	for _, fn := range append(functions[:len(functions):len(functions)], getOrders) {
		s, err := size(fn.name, fn.pkg)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{
			What:     fmt.Sprintf("binary size, %s, stripped linux/arm64", fn.name),
			Value:    fmtMB(s),
			Baseline: fmtMB(base) + " (hello)",
			Ratio:    fmt.Sprintf("%.2f×", float64(s)/float64(base)),
			Target:   "≤ 12 MB",
			Met:      s <= 12_000_000,
		})
	}
	return rows, nil
}

func fmtMB(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f µs", float64(d)/1e3)
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
}
