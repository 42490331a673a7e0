package main

import (
	"strings"
	"testing"
	"time"
)

// out is go test -bench output of three runs on a machine that got twice as slow for
// the last one.
const out = `goos: linux
BenchmarkEncode/codec-2         	 1000000	      1000 ns/op	     704 B/op	       1 allocs/op
BenchmarkEncode/json.Marshal-2  	 1000000	      1000 ns/op	     288 B/op	       2 allocs/op
BenchmarkBatch/handler-2        	       3	 40000000 ns/op	    250000 records/s
BenchmarkBatch/decode-only-2    	       3	 20000000 ns/op	    500000 records/s
BenchmarkBatch/turns-2          	       3	 80000000 ns/op	    250000 plain-records/s	    200000 records/s
BenchmarkHandleObserved-2       	   10000	      5000 ns/op	      1464 plain-B/op	        16.00 plain-allocs/op	      4000 plain-ns/op	    1976 B/op	      19 allocs/op
BenchmarkEncode/codec-2         	 1000000	      1100 ns/op	     704 B/op	       1 allocs/op
BenchmarkEncode/json.Marshal-2  	 1000000	      1000 ns/op	     288 B/op	       2 allocs/op
BenchmarkBatch/handler-2        	       3	 40000000 ns/op	    250000 records/s
BenchmarkBatch/decode-only-2    	       3	 20000000 ns/op	    500000 records/s
BenchmarkBatch/turns-2          	       3	 80000000 ns/op	    250000 plain-records/s	    240000 records/s
BenchmarkHandleObserved-2       	   10000	      6000 ns/op	      1464 plain-B/op	        16.00 plain-allocs/op	      4500 plain-ns/op	    1976 B/op	      19 allocs/op
BenchmarkEncode/codec-2         	 1000000	      2000 ns/op	     704 B/op	       1 allocs/op
BenchmarkEncode/json.Marshal-2  	 1000000	      2000 ns/op	     288 B/op	       2 allocs/op
BenchmarkBatch/handler-2        	       3	 40000000 ns/op	    300000 records/s
BenchmarkBatch/decode-only-2    	       3	 20000000 ns/op	    500000 records/s
BenchmarkBatch/turns-2          	       3	 80000000 ns/op	    300000 plain-records/s	    240000 records/s
BenchmarkHandleObserved-2       	   10000	      9000 ns/op	      1464 plain-B/op	        16.00 plain-allocs/op	      8500 plain-ns/op	    1976 B/op	      19 allocs/op
PASS
`

func TestGoBenchRows(t *testing.T) {
	results := map[string]result{}
	for name, r := range parseBench(out) {
		results["./p "+name] = r
	}
	tests := []struct {
		name      string
		g         goBench
		value     string
		ratio     string
		met       bool
		noteMatch string
		baseline  string // checked when set
	}{
		{"paired ratio, not a ratio of medians (1100/1000), with the spread of the runs",
			goBench{pkg: "./p", bench: "BenchmarkEncode/codec", base: "BenchmarkEncode/json.Marshal", metric: "ns/op", maxRatio: 1.2},
			"1.10 µs, 1 allocs", "1.00× (3 runs: 1.00–1.10×)", true, "", ""},
		{"ratio over the limit",
			goBench{pkg: "./p", bench: "BenchmarkEncode/codec", base: "BenchmarkEncode/json.Marshal", metric: "ns/op", maxRatio: 0.9},
			"1.10 µs, 1 allocs", "1.00× (3 runs: 1.00–1.10×)", false, "", ""},
		{"throughput",
			goBench{pkg: "./p", bench: "BenchmarkBatch/handler", base: "BenchmarkBatch/decode-only", metric: "records/s", minRatio: 0.5},
			"250000 records/s", "0.50× (3 runs: 0.50–0.60×)", true, "", ""},
		{"absolute limits",
			goBench{pkg: "./p", bench: "BenchmarkEncode/codec", metric: "ns/op", maxNs: 1050, maxAll: 40},
			"1.10 µs, 1 allocs", "—", false, "", ""},
		{"missing benchmark",
			goBench{pkg: "./p", bench: "BenchmarkNope", metric: "ns/op"},
			"not measured", "—", false, "has no BenchmarkNope", ""},
		{"within what it may add to its baseline",
			goBench{pkg: "./p", bench: "BenchmarkEncode/codec", base: "BenchmarkEncode/json.Marshal", metric: "ns/op", maxExtraNs: 200, maxExtraAll: 4},
			"1.10 µs, 1 allocs", "1.00× (3 runs: 1.00–1.10×)", true, "", ""},
		{"adds more time than allowed",
			goBench{pkg: "./p", bench: "BenchmarkEncode/codec", base: "BenchmarkEncode/json.Marshal", metric: "ns/op", maxExtraNs: 50, maxExtraAll: 4, bound: "b"},
			"1.10 µs, 1 allocs", "1.00× (3 runs: 1.00–1.10×)", false, "b", ""},
		{"baseline measured in turns, as a metric of the same benchmark",
			goBench{pkg: "./p", bench: "BenchmarkBatch/turns", base: "BenchmarkBatch/turns", metric: "records/s", baseMetric: "plain-records/s", minRatio: 0.95},
			"240000 records/s", "0.80× (3 runs: 0.80–0.96×)", false, "", ""},
		{"baseline measured in turns, in ns/op: what the benchmark adds to it",
			goBench{pkg: "./p", bench: "BenchmarkHandleObserved", base: "BenchmarkHandleObserved", metric: "ns/op", baseMetric: "plain-ns/op", maxExtraNs: 2000, maxExtraAll: 4},
			"6.00 µs, 19 allocs", "1.25× (3 runs: 1.06–1.33×)", true, "", "4.50 µs, 16 allocs"},
		{"baseline measured in turns, in ns/op: too many allocations added",
			goBench{pkg: "./p", bench: "BenchmarkHandleObserved", base: "BenchmarkHandleObserved", metric: "ns/op", baseMetric: "plain-ns/op", maxExtraNs: 2000, maxExtraAll: 2},
			"6.00 µs, 19 allocs", "1.25× (3 runs: 1.06–1.33×)", false, "", "4.50 µs, 16 allocs"},
		{"baseline measured in turns, in ns/op: more time added (1.5 µs) than allowed",
			goBench{pkg: "./p", bench: "BenchmarkHandleObserved", base: "BenchmarkHandleObserved", metric: "ns/op", baseMetric: "plain-ns/op", maxExtraNs: 1000, maxExtraAll: 4},
			"6.00 µs, 19 allocs", "1.25× (3 runs: 1.06–1.33×)", false, "", "4.50 µs, 16 allocs"},
		{"missing baseline",
			goBench{pkg: "./p", bench: "BenchmarkEncode/codec", base: "BenchmarkNope", metric: "ns/op", maxRatio: 2},
			"1.10 µs, 1 allocs", "—", false, "has no baseline", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.g.row(results)
			if r.Value != tt.value || r.Ratio != tt.ratio || r.Met != tt.met || !strings.Contains(r.Note, tt.noteMatch) {
				t.Errorf("row = %+v; want value %q, ratio %q, met %v, note with %q", r, tt.value, tt.ratio, tt.met, tt.noteMatch)
			}
			if tt.baseline != "" && r.Baseline != tt.baseline {
				t.Errorf("baseline = %q, want %q (a baseline measured in turns carries its own allocations)", r.Baseline, tt.baseline)
			}
		})
	}
}

func TestBenchPattern(t *testing.T) {
	for pkg, want := range map[string]string{
		// Only the rows' sub-benchmarks: not codec-append, json.Marshal-envelope, generic.
		"./shared/envelope": `^(BenchmarkEncode|BenchmarkDecode)$/^(codec|json\.Marshal|json\.Unmarshal)$`,
		// BenchmarkHandle has no sub-benchmarks: a sub-benchmark part would leave it out.
		"./functions/create-order":   "^(BenchmarkHandle|BenchmarkHandleObserved|BenchmarkHandleKfake)$",
		"./functions/validate-order": "^(BenchmarkBatch)$/^(handler|decode-only|observed-in-turns)$",
		"./sink":                     "^(BenchmarkMariaDB)$/^(sink|database-sql)$",
	} {
		if got := benchPattern(pkg); got != want {
			t.Errorf("benchPattern(%s) = %s, want %s", pkg, got, want)
		}
	}
}

func TestRowLatencies(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	// Four 201s at 0, 10, 20 and 30 ms; rows appear two at a time at 50 and 100 ms.
	acked := []time.Time{ms(30), ms(0), ms(20), ms(10)}
	counts := []rowCount{{ms(0), 0}, {ms(50), 2}, {ms(100), 4}}
	p50, p99 := rowLatencies(acked, counts)
	// Latencies 50, 40, 80 and 70 ms: sorted 40, 50, 70, 80.
	if p50 != 70*time.Millisecond || p99 != 80*time.Millisecond {
		t.Errorf("p50, p99 = %v, %v; want 70ms, 80ms", p50, p99)
	}
	if p50, p99 := rowLatencies(acked, counts[:2]); p50 != 50*time.Millisecond || p99 != 50*time.Millisecond {
		t.Errorf("with two rows stored: p50, p99 = %v, %v; want 50ms, 50ms (unstored orders left out)", p50, p99)
	}
}

func TestFirstLine(t *testing.T) {
	err := "go [test -run ^$ ./p]: exit status 1\n\n# ./p\np/x_test.go:3:1: undefined: y\n"
	if got, want := firstLine(err), "exit status 1: p/x_test.go:3:1: undefined: y"; got != want {
		t.Errorf("firstLine = %q, want %q", got, want)
	}
	if got, want := firstLine("MariaDB at 127.0.0.1:1: connection refused"), "MariaDB at 127.0.0.1:1: connection refused"; got != want {
		t.Errorf("firstLine = %q, want %q", got, want)
	}
}
