// Command testreport reads `go test -json` on stdin and prints what `go test` prints
// without -v (a line per package, the output of failed tests, build errors), then one
// line per skipped test with its reason and a count of passed, failed and skipped
// tests; -slowest N first lists the N slowest top-level tests, to see where the time
// of a run goes. It exits 1 when a test, a package or a build failed, or when the stream
// holds no package result at all.
//
//	go test -json ./... 2>&1 | go run ./internal/testkit/cmd/testreport
package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail
	Test       string
	Elapsed    float64
	Output     string
}

type timing struct {
	name    string
	elapsed float64
}

type report struct {
	out                     io.Writer
	output                  map[string][]string // package + test → lines so far
	skips                   []string
	times                   []timing // top-level tests
	passed, failed, skipped int
	failedPackages          int
	packages                int
}

func main() {
	slowest := flag.Int("slowest", 0, "list the `N` slowest top-level tests")
	flag.Parse()
	r := &report{out: os.Stdout, output: map[string][]string{}}
	if err := r.read(os.Stdin); err != nil {
		fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
		os.Exit(2)
	}
	r.printSlowest(*slowest)
	if !r.summary() {
		os.Exit(1)
	}
}

func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			fmt.Fprintf(r.out, "%s\n", line) // not JSON: go's own messages, passed through
			continue
		}
		r.handle(ev)
	}
	return sc.Err()
}

func (r *report) handle(ev event) {
	key := ev.Package + " " + ev.Test
	switch ev.Action {
	case "build-output":
		fmt.Fprint(r.out, ev.Output)
	case "output":
		r.output[key] = append(r.output[key], ev.Output)
	case "pass", "fail", "skip":
		if ev.Test == "" {
			r.packageDone(ev, key)
		} else {
			r.testDone(ev, key)
		}
		delete(r.output, key)
	}
}

func (r *report) testDone(ev event, key string) {
	if !strings.Contains(ev.Test, "/") {
		r.times = append(r.times, timing{ev.Package + " " + ev.Test, ev.Elapsed})
	}
	switch ev.Action {
	case "pass":
		r.passed++
	case "fail":
		r.failed++
		fmt.Fprint(r.out, strings.Join(r.output[key], ""))
	case "skip":
		r.skipped++
		r.skips = append(r.skips, fmt.Sprintf("skipped: %s %s: %s", ev.Package, ev.Test, reason(r.output[key])))
	}
}

func (r *report) packageDone(ev event, key string) {
	r.packages++
	lines := r.output[key]
	switch ev.Action {
	case "fail":
		r.failedPackages++
		// What the package printed outside any test: a panic, TestMain's verdict.
		for _, l := range lines {
			if l != "FAIL\n" && !strings.HasPrefix(l, "FAIL\t") {
				fmt.Fprint(r.out, l)
			}
		}
		fmt.Fprintf(r.out, "FAIL\t%s\t%.3fs\n", ev.Package, ev.Elapsed)
	case "skip":
		fmt.Fprintf(r.out, "?   \t%s\t[no test files]\n", ev.Package)
	default:
		fmt.Fprintf(r.out, "ok  \t%s\t%.3fs\n", ev.Package, ev.Elapsed)
	}
}

// location is the file:line prefix of a line a test logged.
var location = regexp.MustCompile(`^[\w.-]+\.go:\d+: `)

// reason is what a skipped test printed, without the === and --- lines.
func reason(lines []string) string {
	var msg []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		msg = append(msg, location.ReplaceAllString(t, ""))
	}
	if len(msg) == 0 {
		return "(no reason given)"
	}
	return strings.Join(msg, " ")
}

// printSlowest lists the n slowest top-level tests.
func (r *report) printSlowest(n int) {
	slices.SortStableFunc(r.times, func(a, b timing) int { return cmp.Compare(b.elapsed, a.elapsed) })
	if n > 0 && len(r.times) > 0 {
		fmt.Fprintf(r.out, "\nslowest tests:\n")
	}
	for _, t := range r.times[:min(n, len(r.times))] {
		fmt.Fprintf(r.out, "%8.2fs %s\n", t.elapsed, t.name)
	}
}

// summary prints the skips and the counts, and reports whether everything passed.
func (r *report) summary() bool {
	fmt.Fprintln(r.out)
	for _, s := range r.skips {
		fmt.Fprintln(r.out, s)
	}
	fmt.Fprintf(r.out, "%d passed, %d failed, %d skipped", r.passed, r.failed, r.skipped)
	if r.failedPackages > 0 {
		fmt.Fprintf(r.out, "; %d packages failed", r.failedPackages)
	}
	fmt.Fprintln(r.out)
	if r.packages == 0 {
		fmt.Fprintln(r.out, "no package results: the tests did not run")
		return false
	}
	return r.failed == 0 && r.failedPackages == 0
}
