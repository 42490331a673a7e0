// Command bench measures ordersync against baselines taken in the same run and rewrites
// BENCHMARKS.md. Every figure is an absolute value next to a ratio against its baseline,
// because a shared machine drifts between runs; rows that miss their target are marked.
//
//	go run ./local/bench [--out BENCHMARKS.md] [--count 8] [--starts 60] [--stack=false] [--only go,cold,size,stack]
//
// With --only, the rows of the other steps are kept from the report as it was.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// A row is one line of the report.
type row struct {
	What     string
	Value    string // the measured value, with its unit
	Baseline string // the baseline measured in the same run, with its unit
	Ratio    string // value / baseline, or "—"
	Target   string
	Met      bool
	Note     string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "BENCHMARKS.md", "report to rewrite")
	count := flag.Int("count", 8, "passes over the Go benchmarks, each running once per pass (the median is reported)")
	starts := flag.Int("starts", 60, "process starts per cold-start measurement (the median is reported)")
	stack := flag.Bool("stack", true, "include the end-to-end local stack load (needs DATABASE_URL or MariaDB on 127.0.0.1:3306)")
	only := flag.String("only", "", "comma-separated steps to run (go, cold, size, stack); empty: all; the other steps' rows are kept")
	orders := flag.Int("orders", 20000, "orders sent by the end-to-end load generator")
	clients := flag.Int("clients", 16, "concurrent clients of the end-to-end load generator")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root, err := repoRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "ordersync-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	began := time.Now()
	var rows []row
	var failures []string
	for _, step := range []struct {
		name, what string
		fn         func() ([]row, error)
	}{
		{"go", "Go benchmarks", func() ([]row, error) { return goBenchRows(ctx, root, *count) }},
		{"cold", "cold start", func() ([]row, error) { return coldStartRows(ctx, root, work, *starts) }},
		{"size", "binary size", func() ([]row, error) { return sizeRows(ctx, root, work) }},
		{"stack", "local stack load", func() ([]row, error) {
			if !*stack {
				return nil, nil
			}
			return stackRows(ctx, root, work, *orders, *clients)
		}},
	} {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), step.name) {
			continue
		}
		progress("%s…", step.name)
		r, err := step.fn()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s: %w", step.name, err)
			}
			// The other steps still run and the report is still written, with this
			// step's row marked; the command then fails.
			progress("%s failed: %v", step.name, err)
			failures = append(failures, step.name)
			r = []row{{What: step.what, Value: "not measured", Baseline: "—", Ratio: "—", Target: "—",
				Note: "failed: " + firstLine(err.Error())}}
		}
		rows = append(rows, r...)
	}

	if err := writeReport(ctx, root, *out, *only, rows, began); err != nil {
		return err
	}
	if len(failures) > 0 {
		return fmt.Errorf("%s could not be measured (see the report)", strings.Join(failures, ", "))
	}
	return nil
}

// writeReport renders rows into out (relative to root) and says how many missed. A
// partial run (only) rewrites its own rows and keeps the others as they were.
func writeReport(ctx context.Context, root, out, only string, rows []row, began time.Time) error {
	path := out
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	if only != "" {
		if old, err := os.ReadFile(path); err == nil {
			rows = merge(parseReport(string(old)), rows, strings.Split(only, ","))
		}
	}
	report := render(rows, machine(ctx), time.Since(began))
	fmt.Print(report)
	if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
		return err
	}
	progress("wrote %s in %s", out, time.Since(began).Round(time.Second))
	missed := 0
	for _, r := range rows {
		if !r.Met {
			missed++
		}
	}
	if missed > 0 {
		progress("%d row(s) miss their target (marked in the report)", missed)
	}
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from the repository")
		}
		dir = parent
	}
}

// machine is the line that says what the numbers were measured on.
func machine(ctx context.Context) string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		b, _ := io.ReadAll(io.LimitReader(f, 1<<16))
		f.Close()
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	gover := runtime.Version()
	if out, err := command(ctx, "", nil, "go", "env", "GOVERSION"); err == nil {
		gover = strings.TrimSpace(out)
	}
	return fmt.Sprintf("%s, %s/%s, %s, %d cores", gover, runtime.GOOS, runtime.GOARCH, cpu, runtime.NumCPU())
}

func render(rows []row, machine string, took time.Duration) string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `make bench`; do not edit by hand. Each value is the median of several runs, next to\n")
	b.WriteString("a baseline measured in the same run on the same machine, so the ratio is the number to compare\n")
	b.WriteString("across machines. A Go benchmark's ratio is the median of per-run ratios: the benchmarks run\n")
	b.WriteString("in passes, each once per pass, and each run is paired with its baseline's run of the same\n")
	b.WriteString("pass; cold starts take turns with hello's, start by start.\n\n")
	fmt.Fprintf(&b, "Machine: %s. Run took %s.\n\n", machine, took.Round(time.Second))
	b.WriteString("| what | value | baseline (same run) | ratio | target | met |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		met := "yes"
		if !r.Met {
			met = "**MISSED**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.What, r.Value, r.Baseline, r.Ratio, r.Target, met)
	}
	var notes, seen []string
	for _, r := range rows {
		switch {
		case r.Note == "":
		case slices.Contains(seen, r.Note):
			notes = append(notes, fmt.Sprintf("- %s: as above.", r.What))
		default:
			seen = append(seen, r.Note)
			notes = append(notes, fmt.Sprintf("- %s: %s", r.What, r.Note))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		b.WriteString(strings.Join(notes, "\n"))
		b.WriteString("\n")
	}
	b.WriteString(optimisations)
	return b.String()
}
