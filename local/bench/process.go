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

// runtimeAPI is a minimal Lambda Runtime API (and Extensions API, which
// lambda.WithEnableSIGTERM registers with during init) that records when a process first
// asks for an invocation and never hands it one.
type runtimeAPI struct {
	ln    net.Listener
	srv   *http.Server
	first chan time.Time
}

func newRuntimeAPI() (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	api := &runtimeAPI{ln: ln, first: make(chan time.Time, 1)}
	api.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next":
			select {
			case api.first <- time.Now():
			default:
			}
			<-r.Context().Done() // hold the request: the process is killed next
		case r.Method == http.MethodPost && r.URL.Path == "/2020-01-01/extension/register":
			// As Lambda answers: 200 with the extension's id.
			w.Header().Set("Lambda-Extension-Identifier", "bench-extension")
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"functionName":"bench","functionVersion":"$LATEST","handler":"bootstrap"}`))
		case r.Method == http.MethodGet && r.URL.Path == "/2020-01-01/extension/event/next":
			<-r.Context().Done() // no lifecycle events were asked for
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	})}
	go api.srv.Serve(ln)
	return api, nil
}

func (api *runtimeAPI) Close() { api.srv.Close() }

// coldStart starts bin once under the runtime API and returns the time from process
// start to its first GET /runtime/invocation/next: all of init (package init, config,
// client construction, the extension registration) and nothing of the invocation.
func (api *runtimeAPI) coldStart(ctx context.Context, bin string, env []string) (time.Duration, error) {
	select { // a late request of the previous process
	case <-api.first:
	default:
	}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + api.ln.Addr().String(),
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
	case t := <-api.first:
		cmd.Process.Kill()
		<-exited
		return t.Sub(start), nil
	case err := <-exited:
		return 0, fmt.Errorf("%s exited before asking for an invocation: %v\n%s", bin, err, stderr.String())
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
		return 0, fmt.Errorf("%s did not ask for an invocation within 10s\n%s", bin, stderr.String())
	}
}

// coldStartRows measures every function in every auth mode against hello. The binaries
// take turns, n rounds of one start each (after one unmeasured start that loads each
// from disk), so that a shared machine's drift falls on all of them alike; each value
// is the median of its n starts.
func coldStartRows(ctx context.Context, root, work string, n int) ([]row, error) {
	hostBin := func(name, pkg string) (string, error) {
		out := filepath.Join(work, "host", name, "bootstrap")
		return out, buildLambda(ctx, root, pkg, out, goHostOS(), goHostArch())
	}
	type subject struct {
		fn, auth string
		bin      string
		env      []string
		limit    float64
		samples  []time.Duration
	}
	hello, err := hostBin("hello", helloPkg)
	if err != nil {
		return nil, err
	}
	subjects := []*subject{{fn: "hello", bin: hello}}
	for _, mode := range []struct {
		auth  string
		limit float64
	}{{"none", 1.5}, {"msk-iam", 2}} {
		for _, fn := range functions {
			bin, err := hostBin(fn.name, fn.pkg)
			if err != nil {
				return nil, err
			}
			subjects = append(subjects, &subject{fn: fn.name, auth: mode.auth, bin: bin, limit: mode.limit,
				env: []string{"KAFKA_BROKERS=127.0.0.1:9", "KAFKA_AUTH=" + mode.auth}})
		}
	}
	api, err := newRuntimeAPI()
	if err != nil {
		return nil, err
	}
	defer api.Close()
	for round := -1; round < n; round++ {
		for _, s := range subjects {
			d, err := api.coldStart(ctx, s.bin, s.env)
			if err != nil {
				return nil, err
			}
			if round >= 0 {
				s.samples = append(s.samples, d)
			}
		}
	}
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	base := median(subjects[0].samples)
	var rows []row
	for _, s := range subjects[1:] {
		d := median(s.samples)
		ratio := float64(d) / float64(base)
		rows = append(rows, row{
			What:     fmt.Sprintf("cold start, %s, `KAFKA_AUTH=%s` (process start → first `/invocation/next`)", s.fn, s.auth),
			Value:    fmtDuration(d),
			Baseline: fmtDuration(base) + " (hello)",
			Ratio:    fmt.Sprintf("%.2f×", ratio),
			Target:   fmt.Sprintf("≤ %.1f×", s.limit),
			Met:      ratio <= s.limit,
		})
		if ratio > s.limit {
			rows[len(rows)-1].Note = boundColdStart
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
