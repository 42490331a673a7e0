package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestColdRows: init rows compare init with hello's init, first-invoke rows compare
// first invoke with hello's first invoke, and the spread is printed beside each median.
func TestColdRows(t *testing.T) {
	ms := func(v ...int) []start {
		var s []start
		for _, x := range v {
			s = append(s, start{init: time.Duration(x) * time.Millisecond, first: time.Duration(2*x) * time.Millisecond})
		}
		return s
	}
	subjects := []*subject{
		{fn: "hello", starts: ms(10, 10, 10, 10, 10)},
		{fn: "create-order", auth: "none", starts: ms(12, 13, 14, 15, 30)},
		{fn: "hello", event: []byte("{}"), starts: ms(20, 20, 20, 20, 20)},
		{fn: "create-order", auth: "none", event: []byte("{}"), starts: ms(30, 30, 30, 30, 30)},
	}
	rows := coldRows(subjects)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	for _, tc := range []struct {
		r                            row
		what, value, base, ratio, tg string
		met                          bool
	}{
		{rows[0], "cold start, create-order, `KAFKA_AUTH=none` (process start → first `/invocation/next`)",
			"14.00 ms (p25–p75 13.00 ms–15.00 ms)", "10.00 ms (hello; p25–p75 10.00 ms–10.00 ms)", "1.40× (per round p25–p75 1.30–1.50×)", "≤ 1.3×", false},
		{rows[1], "first invoke, create-order, `KAFKA_AUTH=none` (process start → first response, broker on loopback)",
			"60.00 ms (p25–p75 60.00 ms–60.00 ms)", "40.00 ms (hello; p25–p75 40.00 ms–40.00 ms)", "1.50× (per round p25–p75 1.50–1.50×)", "≤ 1.5×", true},
	} {
		r := tc.r
		if r.What != tc.what || r.Value != tc.value || r.Baseline != tc.base || r.Ratio != tc.ratio || r.Target != tc.tg || r.Met != tc.met {
			t.Errorf("row = %+v\nwant %q %q %q %q %q %v", r, tc.what, tc.value, tc.base, tc.ratio, tc.tg, tc.met)
		}
		if !r.Met && !strings.Contains(r.Note, "hello") {
			t.Errorf("missed row without a note: %+v", r)
		}
	}
}

// TestColdRowFaults: with page faults known, each side of a row shows its median.
func TestColdRowFaults(t *testing.T) {
	starts := func(ms int, faults ...int64) []start {
		var s []start
		for _, f := range faults {
			s = append(s, start{init: time.Duration(ms) * time.Millisecond, initCPU: time.Millisecond, initFaults: f})
		}
		return s
	}
	rows := coldRows([]*subject{
		{fn: "hello", starts: starts(10, 300, 310, 320)},
		{fn: "get-orders", mode: "`DB_AUTH=iam`", starts: starts(11, 350, 500, 360)},
	})
	if len(rows) != 1 || !strings.HasSuffix(rows[0].Value, "; 360 page faults)") || !strings.HasSuffix(rows[0].Baseline, "; 310 page faults)") {
		t.Fatalf("rows %+v, want the median page faults on each side", rows)
	}
	if f := faults(os.Getpid()); f <= 0 {
		t.Errorf("faults of this process = %d, want some", f)
	}
	if f := faults(-1); f != 0 {
		t.Errorf("faults of no process = %d, want 0", f)
	}
}

// TestMergeKeepsOtherRows: a run of some steps rewrites their rows in place, adds its
// new rows after them, and keeps every other row with its note.
func TestMergeKeepsOtherRows(t *testing.T) {
	old := []row{
		{What: "envelope encode of one order", Value: "1 µs", Baseline: "1 µs", Ratio: "1.00×", Target: "≤ 1.2×", Met: true},
		{What: "cold start, create-order, `KAFKA_AUTH=none` (x)", Value: "old", Baseline: "—", Ratio: "—", Target: "—"},
		{What: "binary size, create-order, stripped linux/arm64", Value: "13 MB", Baseline: "6 MB", Ratio: "2×", Target: "≤ 14 MB", Met: true},
		{What: "local stack, HTTP → 201", Value: "1 orders/s", Baseline: "—", Ratio: "—", Target: "report", Note: "a note"},
	}
	report := render(old, "m", time.Second)
	parsed := parseReport(report)
	if len(parsed) != len(old) || parsed[3] != old[3] || parsed[0] != old[0] {
		t.Fatalf("parsed %+v\nwant %+v", parsed, old)
	}
	fresh := []row{
		{What: "cold start, create-order, `KAFKA_AUTH=none` (x)", Value: "new"},
		{What: "first invoke, create-order, `KAFKA_AUTH=none` (y)", Value: "new"},
	}
	got := merge(parsed, fresh, []string{"cold"})
	var whats []string
	for _, r := range got {
		whats = append(whats, r.What+"="+r.Value)
	}
	want := "envelope encode of one order=1 µs|cold start, create-order, `KAFKA_AUTH=none` (x)=new|" +
		"first invoke, create-order, `KAFKA_AUTH=none` (y)=new|binary size, create-order, stripped linux/arm64=13 MB|local stack, HTTP → 201=1 orders/s"
	if strings.Join(whats, "|") != want {
		t.Fatalf("merged %s\nwant   %s", strings.Join(whats, "|"), want)
	}
}

// TestColdStart starts the hello function under the bench's Runtime API, in turns with
// and without an event, as coldStartRows does: every start is measured, and each one
// answers its own event. A process asks for its next invocation right after answering,
// just before it is killed; that request must not reach the next start.
func TestColdStart(t *testing.T) {
	bin := buildHost(t, helloPkg)
	event := []byte(`{"version":"2.0","routeKey":"POST /x","rawPath":"/x","requestContext":{"http":{"method":"POST"}}}`)
	for i := range 20 {
		var ev []byte
		if i%3 != 0 {
			ev = event
		}
		st, err := coldStart(context.Background(), bin, nil, ev)
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		if st.init <= 0 || st.initCPU <= 0 || st.initFaults <= 0 {
			t.Fatalf("start %d: init %v, on CPU %v, %d page faults", i, st.init, st.initCPU, st.initFaults)
		}
		if ev == nil {
			continue
		}
		if st.first <= st.init || !strings.Contains(string(st.body), `"statusCode":200`) || st.firstFaults < st.initFaults {
			t.Fatalf("start %d: init %v, first answer %v: %s (%d, %d page faults)", i, st.init, st.first, st.body, st.initFaults, st.firstFaults)
		}
	}
}

// TestPackageInitBuildsNothing: the project's own packages do no work at package init
// (no fmt.Errorf, no map literal, no eager cache), which every cold start would pay
// before main. The Go runtime reports each package's init with GODEBUG=inittrace=1;
// allocations are what such work leaves, and unlike its time they do not vary.
func TestPackageInitBuildsNothing(t *testing.T) {
	for _, fn := range append(slices.Clone(functions), getOrders) {
		bin := buildHost(t, fn.pkg)
		// Without its configuration the function stops in main, after every package init.
		cmd := exec.Command(bin)
		cmd.Env = []string{"GODEBUG=inittrace=1"}
		out, _ := cmd.CombinedOutput()
		var ours int
		for _, line := range strings.Split(string(out), "\n") {
			pkg, ok := strings.CutPrefix(line, "init ")
			if !ok {
				continue
			}
			pkg, _, _ = strings.Cut(pkg, " ")
			if pkg != "main" && !strings.HasPrefix(pkg, "github.com/ordersync/") {
				continue
			}
			ours++
			if !strings.HasSuffix(line, " 0 bytes, 0 allocs") {
				t.Errorf("%s: %s", fn.name, line)
			}
		}
		if ours == 0 {
			t.Errorf("%s: no init of the project's packages reported:\n%s", fn.name, out)
		}
	}
}

// buildHost builds the function pkg for this machine as make bench builds it, and
// returns its path; it skips with -short.
func buildHost(t *testing.T, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("builds %s; skipped with -short", pkg)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	if err := buildLambda(context.Background(), root, pkg, bin, goHostOS(), goHostArch()); err != nil {
		t.Fatal(err)
	}
	return bin
}
