// Command testreport reads `go test -json` on stdin and prints what `go test` prints
// without -v (a line per package, the output of failed tests, build errors), then one
// line per skipped test with its reason and a count of passed, failed and skipped
// tests. It exits 1 when a test, a package or a build failed, or when the stream
// holds no package result at all.
//
//	go test -json ./... 2>&1 | go run ./internal/testkit/cmd/testreport
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
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

type report struct {
	out                     io.Writer
	output                  map[string][]string // package + test → lines so far
	skips                   []string
	passed, failed, skipped int
	failedPackages          int
	packages                int
}

func main() {
	r := &report{out: os.Stdout, output: map[string][]string{}}
	if err := r.read(os.Stdin); err != nil {
		fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
		os.Exit(2)
	}
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
