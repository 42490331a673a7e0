package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

func goHostOS() string   { return runtime.GOOS }
func goHostArch() string { return runtime.GOARCH }

// A result is one benchmark's medians over its runs: ns/op, allocs/op and any custom
// metric it reports (records/s, rows/s); runs keeps every run's value of each unit, in
// the order the runs happened.
type result struct {
	nsPerOp, allocs float64
	metrics         map[string]float64
	runs            map[string][]float64
}

// pairedRatios returns value/baseline of every run, sorted, each run of the benchmark
// paired with the run of its baseline in the same pass (see goBenchRows). On a shared
// machine whose load drifts over minutes their median is steadier than a ratio of
// medians, which can pair a quiet minute with a busy one, and their range is the spread
// a row reports. ok is false when the runs do not pair.
func pairedRatios(v, b result, unit, baseUnit string) (ratios []float64, ok bool) {
	vs, bs := v.runs[unit], b.runs[baseUnit]
	if len(vs) == 0 || len(vs) != len(bs) {
		return nil, false
	}
	rs := make([]float64, len(vs))
	for i := range vs {
		if bs[i] == 0 {
			return nil, false
		}
		rs[i] = vs[i] / bs[i]
	}
	slices.Sort(rs)
	return rs, true
}

// goBench is one row measured with testing.B: a benchmark and its baseline in the same
// package and run.
type goBench struct {
	what, pkg   string
	bench, base string // full benchmark names without the -GOMAXPROCS suffix
	metric      string // "ns/op" (lower is better) or a custom unit such as "records/s" (higher is better)
	// baseMetric is the baseline's unit when it is not metric: a benchmark that runs
	// both ways in turns reports the baseline as a metric of its own (base names it).
	baseMetric    string
	target        string
	maxRatio      float64 // for ns/op: value/base must not exceed it (0: no ratio target)
	minRatio      float64 // for throughput: value/base must reach it
	maxNs, maxAll float64 // absolute limits (0: none)
	// limits on what the benchmark adds to its baseline (0: none): time and allocations
	maxExtraNs, maxExtraAll float64
	bound                   string // what a profile shows bounds the row; reported when it misses
}

var goBenches = []goBench{
	{what: "envelope encode of one order", pkg: "./shared/envelope",
		bench: "BenchmarkEncode/codec", base: "BenchmarkEncode/json.Marshal",
		metric: "ns/op", target: "≤ 1.2× time", maxRatio: 1.2, bound: boundEncode},
	{what: "envelope decode + validate of one order", pkg: "./shared/envelope",
		bench: "BenchmarkDecode/codec", base: "BenchmarkDecode/json.Unmarshal",
		metric: "ns/op", target: "≤ 1.5× time", maxRatio: 1.5},
	{what: "create-order handler, in-process, per request, excluding the produce round trip", pkg: "./functions/create-order",
		bench: "BenchmarkHandle", metric: "ns/op", target: "≤ 15 µs, ≤ 40 allocs", maxNs: 15000, maxAll: 40},
	{what: "create-order handler as Lambda runs it (EMF metrics document, trace headers), against the same without", pkg: "./functions/create-order",
		bench: "BenchmarkHandleObserved", base: "BenchmarkHandleObserved",
		metric: "ns/op", baseMetric: "plain-ns/op", target: "≤ +2 µs, ≤ +4 allocs", maxExtraNs: 2000, maxExtraAll: 4,
		bound: boundRequestObserved},
	{what: "create-order with ProduceSync to in-process kfake", pkg: "./functions/create-order",
		bench: "BenchmarkHandleKfake/handler", base: "BenchmarkHandleKfake/ProduceSync",
		metric: "ns/op", target: "≤ 1.1× time", maxRatio: 1.1, bound: boundProduce},
	{what: "validate-order, one 10,000-record batch, end to end incl. produce to kfake", pkg: "./functions/validate-order",
		bench: "BenchmarkBatch/handler", base: "BenchmarkBatch/decode-only",
		metric: "records/s", target: "≥ 0.5× records/s", minRatio: 0.5, bound: boundBatch},
	{what: "get-orders GET one order, warm, local MariaDB, same connection", pkg: "./functions/get-orders",
		bench: "BenchmarkGetOne/handler", base: "BenchmarkGetOne/database-sql",
		metric: "ns/op", target: "≤ 1.3× time", maxRatio: 1.3, bound: boundGetOrders},
	{what: "get-orders list of 20, local MariaDB, same connection", pkg: "./functions/get-orders",
		bench: "BenchmarkList20/handler", base: "BenchmarkList20/database-sql",
		metric: "ns/op", target: "≤ 1.3× time", maxRatio: 1.3, bound: boundGetOrders},
	{what: "validate-order 10,000-record batch as Lambda runs it (traced records, EMF metrics), against the same without", pkg: "./functions/validate-order",
		bench: "BenchmarkBatch/observed-in-turns", base: "BenchmarkBatch/observed-in-turns",
		metric: "records/s", baseMetric: "plain-records/s", target: "≥ 0.95× records/s (at most 5 % slower)", minRatio: 0.95, bound: boundObserved},
	{what: "sink into MariaDB, 100,000 orders", pkg: "./sink",
		bench: "BenchmarkMariaDB/sink", base: "BenchmarkMariaDB/database-sql",
		metric: "rows/s", target: "≥ 0.8× rows/s", minRatio: 0.8, bound: boundSink},
}

func goBenchRows(ctx context.Context, root string, count int) ([]row, error) {
	var pkgs []string
	for _, g := range goBenches {
		if !slices.Contains(pkgs, g.pkg) {
			pkgs = append(pkgs, g.pkg)
		}
	}
	dir, err := os.MkdirTemp("", "ordersync-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// One package that does not build or whose benchmark fails leaves its rows
	// unmeasured; the rest of the report still gets written.
	failed := map[string]string{}
	fail := func(pkg string, err error) {
		progress("  %s: %v", pkg, err)
		failed[pkg] = firstLine(err.Error())
	}
	bins := map[string]string{}
	for _, pkg := range pkgs {
		bin := filepath.Join(dir, strings.ReplaceAll(strings.TrimPrefix(pkg, "./"), "/", "-")+".test")
		if _, err := command(ctx, root, nil, "go", "test", "-c", "-o", bin, pkg); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			fail(pkg, err)
			continue
		}
		bins[pkg] = bin
	}
	// go test -count repeats each benchmark, sub-benchmarks included, count times in a
	// row, so a benchmark's runs and its baseline's would be count runs apart. Instead
	// every package's benchmarks run once per pass, count passes, and a row's runs pair
	// within a pass, seconds apart.
	outs := map[string]string{}
	for i := 1; i <= count; i++ {
		for _, pkg := range pkgs {
			if _, ok := failed[pkg]; ok {
				continue
			}
			pattern := benchPattern(pkg)
			progress("  pass %d/%d: go test -bench '%s' %s", i, count, pattern, pkg)
			out, err := command(ctx, filepath.Join(root, pkg), nil, bins[pkg], "-test.run", "^$",
				"-test.bench", pattern, "-test.benchmem", "-test.count", "1", "-test.timeout", "20m")
			outs[pkg] += out
			if err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				fail(pkg, err)
			}
		}
	}
	results := map[string]result{}
	for pkg, out := range outs {
		for name, r := range parseBench(out) {
			results[pkg+" "+name] = r
		}
	}
	var rows []row
	for _, g := range goBenches {
		r := g.row(results)
		if f, ok := failed[g.pkg]; ok && r.Value == "not measured" {
			r.Note = "go test failed: " + f
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// benchPattern selects the benchmarks of pkg that goBenches names, so a package's
// other benchmarks (SQLite, variants, references the notes cite) do not spend the
// run's time budget. Sub-benchmarks are selected by name too, unless one of the
// package's rows is a top-level benchmark: go test reports a benchmark without
// sub-benchmarks only when the pattern has no sub-benchmark part.
func benchPattern(pkg string) string {
	var tops, subs []string
	leaf := false
	for _, g := range goBenches {
		if g.pkg != pkg {
			continue
		}
		for _, b := range []string{g.bench, g.base} {
			top, sub, _ := strings.Cut(b, "/")
			if top == "" {
				continue
			}
			if !slices.Contains(tops, top) {
				tops = append(tops, top)
			}
			if sub == "" {
				leaf = true
			} else if !slices.Contains(subs, sub) {
				subs = append(subs, sub)
			}
		}
	}
	pattern := "^(" + quoteAll(tops) + ")$"
	if !leaf && len(subs) > 0 {
		pattern += "/^(" + quoteAll(subs) + ")$"
	}
	return pattern
}

// quoteAll joins names as alternatives of a regular expression.
func quoteAll(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return strings.Join(quoted, "|")
}

func (g goBench) row(results map[string]result) row {
	r := row{What: g.what, Target: g.target, Ratio: "—", Baseline: "—"}
	v, ok := results[g.pkg+" "+g.bench]
	if !ok {
		r.Value = "not measured"
		r.Note = fmt.Sprintf("%s has no %s", g.pkg, g.bench)
		return r
	}
	r.Met = true
	value := v.nsPerOp
	if g.metric == "ns/op" {
		r.Value = fmt.Sprintf("%s, %.0f allocs", fmtNs(v.nsPerOp), v.allocs)
	} else {
		value = v.metrics[g.metric]
		r.Value = fmt.Sprintf("%.0f %s", value, g.metric)
	}
	if g.base != "" {
		b, ok := results[g.pkg+" "+g.base]
		if !ok {
			r.Met = false
			r.Note = fmt.Sprintf("%s has no baseline %s", g.pkg, g.base)
			return r
		}
		baseUnit := cmp.Or(g.baseMetric, g.metric)
		base, baseAllocs := b.nsPerOp, b.allocs
		if baseUnit != "ns/op" {
			base = b.metrics[baseUnit]
			// A baseline measured in turns in time: plain-ns/op beside plain-allocs/op.
			if prefix, ok := strings.CutSuffix(baseUnit, "ns/op"); ok {
				baseAllocs = b.metrics[prefix+"allocs/op"]
			}
		}
		if g.metric == "ns/op" {
			r.Baseline = fmt.Sprintf("%s, %.0f allocs", fmtNs(base), baseAllocs)
		} else {
			r.Baseline = fmt.Sprintf("%.0f %s", base, g.metric)
		}
		ratio := value / base
		r.Ratio = fmt.Sprintf("%.2f×", ratio)
		if rs, ok := pairedRatios(v, b, g.metric, baseUnit); ok {
			ratio = rs[len(rs)/2]
			r.Ratio = fmt.Sprintf("%.2f×", ratio)
			if len(rs) > 1 {
				r.Ratio += fmt.Sprintf(" (%d runs: %.2f–%.2f×)", len(rs), rs[0], rs[len(rs)-1])
			}
		}
		if g.maxRatio > 0 && ratio > g.maxRatio {
			r.Met = false
		}
		if g.minRatio > 0 && ratio < g.minRatio {
			r.Met = false
		}
		if g.maxExtraNs > 0 && (v.nsPerOp-base > g.maxExtraNs || v.allocs-baseAllocs > g.maxExtraAll) {
			r.Met = false
		}
	}
	if g.maxNs > 0 && v.nsPerOp > g.maxNs {
		r.Met = false
	}
	if g.maxAll > 0 && v.allocs > g.maxAll {
		r.Met = false
	}
	if !r.Met {
		r.Note = g.bound
	}
	return r
}

// parseBench reads `go test -bench` output and returns, per benchmark name (without the
// -N GOMAXPROCS suffix), the median of each metric over the runs.
func parseBench(out string) map[string]result {
	samples := map[string]map[string][]float64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		if samples[name] == nil {
			samples[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			samples[name][f[i+1]] = append(samples[name][f[i+1]], v)
		}
	}
	res := map[string]result{}
	for name, m := range samples {
		r := result{metrics: map[string]float64{}, runs: map[string][]float64{}}
		for unit, vs := range m {
			r.runs[unit] = slices.Clone(vs)
			slices.Sort(vs)
			med := vs[len(vs)/2]
			switch unit {
			case "ns/op":
				r.nsPerOp = med
			case "allocs/op":
				r.allocs = med
			default:
				r.metrics[unit] = med
			}
		}
		res[name] = r
	}
	return res
}

// firstLine is the gist of a command's error: its exit status and the first line it
// wrote on stderr that is not a "# package" header.
func firstLine(s string) string {
	status, rest, ok := strings.Cut(s, "\n")
	if !ok {
		return s
	}
	if i := strings.LastIndex(status, ": "); i >= 0 {
		status = status[i+2:]
	}
	for _, line := range strings.Split(rest, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "# ") {
			return status + ": " + line
		}
	}
	return status
}

func fmtNs(ns float64) string {
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	}
}
