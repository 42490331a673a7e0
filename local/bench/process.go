package main

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"net"
	"net/http"
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

const helloPkg = "./local/bench/testdata/hello"

// coldStart starts bin n times under a minimal Lambda Runtime API and returns the median
// time from process start to its first GET /runtime/invocation/next: all of init
// (package init, config, client construction) and nothing of the invocation.
func coldStart(ctx context.Context, bin string, env []string, n int) (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	first := make(chan time.Time, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next" {
			select {
			case first <- time.Now():
			default:
			}
			<-r.Context().Done() // hold the request: the process is killed next
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	var samples []time.Duration
	for i := 0; i < n; i++ {
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = append([]string{
			"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(),
			"AWS_LAMBDA_FUNCTION_NAME=bench",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
			"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
			"AWS_REGION=us-east-1",
			"_HANDLER=bootstrap",
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + os.Getenv("HOME"),
		}, env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case t := <-first:
			samples = append(samples, t.Sub(start))
			cmd.Process.Kill()
			<-exited
		case err := <-exited:
			return 0, fmt.Errorf("%s exited before asking for an invocation: %v\n%s", filepath.Base(filepath.Dir(bin)), err, stderr.String())
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			return 0, fmt.Errorf("%s did not ask for an invocation within 10s\n%s", bin, stderr.String())
		}
	}
	slices.Sort(samples)
	return samples[len(samples)/2], nil
}

func coldStartRows(ctx context.Context, root, work string, n int) ([]row, error) {
	hostBin := func(name, pkg string) (string, error) {
		out := filepath.Join(work, "host", name, "bootstrap")
		return out, buildLambda(ctx, root, pkg, out, goHostOS(), goHostArch())
	}
	hello, err := hostBin("hello", helloPkg)
	if err != nil {
		return nil, err
	}
	base, err := coldStart(ctx, hello, nil, n)
	if err != nil {
		return nil, err
	}
	var rows []row
	for _, mode := range []struct {
		auth  string
		limit float64
	}{{"none", 1.5}, {"msk-iam", 2}} {
		for _, fn := range functions {
			bin, err := hostBin(fn.name, fn.pkg)
			if err != nil {
				return nil, err
			}
			env := []string{"KAFKA_BROKERS=127.0.0.1:9", "KAFKA_AUTH=" + mode.auth}
			d, err := coldStart(ctx, bin, env, n)
			if err != nil {
				return nil, err
			}
			ratio := float64(d) / float64(base)
			rows = append(rows, row{
				What:     fmt.Sprintf("cold start, %s, `KAFKA_AUTH=%s` (process start → first `/invocation/next`)", fn.name, mode.auth),
				Value:    fmtDuration(d),
				Baseline: fmtDuration(base) + " (hello)",
				Ratio:    fmt.Sprintf("%.2f×", ratio),
				Target:   fmt.Sprintf("≤ %.1f×", mode.limit),
				Met:      ratio <= mode.limit,
			})
		}
	}
	return rows, nil
}

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
	for _, fn := range functions {
		s, err := size(fn.name, fn.pkg)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{
			What:     fmt.Sprintf("binary size, %s, stripped linux/arm64", fn.name),
			Value:    fmtMB(s),
			Baseline: fmtMB(base) + " (hello)",
			Ratio:    fmt.Sprintf("%.2f×", float64(s)/float64(base)),
			Target:   "≤ 14 MB",
			Met:      s <= 14_000_000,
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
