// Command fuzzrun runs every fuzz target of the module for a bounded time, one after
// another (go test fuzzes one target per command), and prints each target's executions
// per second. With -doc it also rewrites the table between the markers
// "<!-- fuzz:begin -->" and "<!-- fuzz:end -->" of that file: each target, what it
// asserts (the first sentence of its doc comment) and its speed on this machine.
//
//	go run ./internal/testkit/cmd/fuzzrun [-fuzztime 5s] [-run REGEXP] [-doc docs/guarantees.md]
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A target is one fuzz function.
type target struct {
	dir, name, asserts string
	execs              int64
	elapsed            time.Duration
}

func (t target) rate() float64 { return float64(t.execs) / t.elapsed.Seconds() }

func main() {
	fuzztime := flag.Duration("fuzztime", 5*time.Second, "how long to fuzz each target")
	run := flag.String("run", "", "only the targets whose name matches this regular expression")
	doc := flag.String("doc", "", "a Markdown file whose fuzz table to rewrite")
	flag.Parse()
	if err := fuzzAll(*fuzztime, *run, *doc); err != nil {
		fmt.Fprintln(os.Stderr, "fuzzrun:", err)
		os.Exit(1)
	}
}

func fuzzAll(fuzztime time.Duration, run, doc string) error {
	only, err := regexp.Compile(run)
	if err != nil {
		return fmt.Errorf("-run: %w", err)
	}
	targets, err := find(".")
	if err != nil {
		return err
	}
	targets = slices.DeleteFunc(targets, func(t target) bool { return !only.MatchString(t.name) })
	if len(targets) == 0 {
		return errors.New("no fuzz targets found")
	}
	fmt.Printf("fuzzing %d targets for %s each on %d cores\n", len(targets), fuzztime, runtime.NumCPU())
	for i := range targets {
		if err := fuzz(&targets[i], fuzztime); err != nil {
			return err
		}
		t := targets[i]
		fmt.Printf("%-28s %-24s %9.0f exec/s  (%d in %s)\n", "./"+t.dir, t.name, t.rate(), t.execs, t.elapsed.Round(time.Second))
	}
	if doc != "" {
		return writeTable(doc, targets)
	}
	return nil
}

// find lists the fuzz targets in the _test.go files below root, in path order.
func find(root string) ([]target, error) {
	var ts []target
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Fuzz") {
				ts = append(ts, target{dir: filepath.ToSlash(filepath.Dir(path)), name: fn.Name.Name, asserts: firstSentence(fn.Doc.Text())})
			}
		}
		return nil
	})
	return ts, err
}

// firstSentence is the doc comment's first sentence, without the function's name.
func firstSentence(doc string) string {
	doc = strings.Join(strings.Fields(doc), " ")
	if i := strings.Index(doc, ". "); i >= 0 {
		doc = doc[:i+1]
	}
	if name, rest, ok := strings.Cut(doc, " "); ok && strings.HasPrefix(name, "Fuzz") {
		doc = rest
	}
	return doc
}

// The progress line go test prints while fuzzing: "fuzz: elapsed: 5s, execs: 12345 (2469/sec), ...".
var progress = regexp.MustCompile(`fuzz: elapsed: (\d+)s, execs: (\d+) `)

// tries bounds the runs of one target that end only in Go's own deadline race.
const tries = 3

// fuzz runs one target and reads its totals from the last progress line.
func fuzz(t *target, fuzztime time.Duration) error {
	var out bytes.Buffer
	for try := 1; ; try++ {
		// Shrinking a new interesting input may take up to a minute by default, during
		// which nothing else is fuzzed; a bounded run bounds it too.
		cmd := exec.Command("go", "test", "-run", "^$", "-fuzz", "^"+t.name+"$", "-fuzztime", fuzztime.String(),
			"-fuzzminimizetime", "200x", "./"+t.dir)
		out.Reset()
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err == nil {
			break
		}
		if try < tries && deadlineRace(out.Bytes()) {
			fmt.Printf("%-28s %-24s ended in Go's fuzzing deadline race (go.dev/issue/75804, fixed in Go 1.27) without a failing input; again\n", "./"+t.dir, t.name)
			continue
		}
		return fmt.Errorf("%s in ./%s: %w\n%s", t.name, t.dir, err, out.Bytes())
	}
	m := progress.FindAllSubmatch(out.Bytes(), -1)
	if len(m) == 0 {
		return fmt.Errorf("%s in ./%s: no fuzzing progress in its output\n%s", t.name, t.dir, out.Bytes())
	}
	last := m[len(m)-1]
	secs, _ := strconv.Atoi(string(last[1]))
	t.execs, _ = strconv.ParseInt(string(last[2]), 10, 64)
	t.elapsed = time.Duration(max(secs, 1)) * time.Second
	return nil
}

// deadlineRace reports whether a failed fuzzing run's output is only Go's coordinator
// race at the end of -fuzztime (go.dev/issue/75804): the target fails with a bare
// "context deadline exceeded", and no failing input was written, nothing panicked and
// no test reported an error of its own.
func deadlineRace(out []byte) bool {
	var failure []string
	for _, line := range strings.Split(string(out), "\n") {
		switch line = strings.TrimSpace(line); {
		case strings.Contains(line, "Failing input written to"), strings.HasPrefix(line, "panic:"):
			return false
		case strings.HasPrefix(line, "--- FAIL:"):
			failure = append(failure, line)
		case len(failure) > 0 && line != "" && !strings.HasPrefix(line, "FAIL") && !strings.HasPrefix(line, "exit status"):
			failure = append(failure, line)
		}
	}
	return len(failure) == 2 && failure[1] == "context deadline exceeded"
}

const begin, end = "<!-- fuzz:begin -->", "<!-- fuzz:end -->"

// writeTable replaces the fuzz table of the Markdown file doc.
func writeTable(doc string, ts []target) error {
	text, err := os.ReadFile(doc)
	if err != nil {
		return err
	}
	i, j := bytes.Index(text, []byte(begin)), bytes.Index(text, []byte(end))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s markers", doc, begin, end)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n| package | target | what it asserts | exec/s |\n| --- | --- | --- | --- |\n", begin)
	for _, t := range ts {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", t.dir, t.name, t.asserts, thousands(int64(t.rate())))
	}
	out := append(append(text[:i:i], b.String()...), text[j:]...)
	return os.WriteFile(doc, out, 0o644)
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
