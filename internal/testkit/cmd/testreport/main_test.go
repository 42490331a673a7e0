package main

import (
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
		want     []string
	}{
		{"skips listed with their reasons", `
{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestB","Output":"=== RUN   TestB\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:12: MariaDB not reachable; start it\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"--- SKIP: TestB (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Output":"PASS\n"}
{"Action":"pass","Package":"p","Elapsed":1.5}
{"Action":"skip","Package":"q"}
`, true, []string{"ok  \tp\t1.500s\n", "slowest tests:\n    0.00s p TestA\n", "?   \tq\t[no test files]\n", "\nskipped: p TestB: MariaDB not reachable; start it\n1 passed, 0 failed, 1 skipped\n"}},
		{"a failed test prints its output and fails", `
{"Action":"output","Package":"p","Test":"TestC","Output":"    c_test.go:3: boom\n"}
{"Action":"output","Package":"p","Test":"TestC","Output":"--- FAIL: TestC (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestC"}
{"Action":"output","Package":"p","Output":"FAIL\n"}
{"Action":"fail","Package":"p","Elapsed":0.2}
`, false, []string{"    c_test.go:3: boom\n--- FAIL: TestC (0.00s)\nFAIL\tp\t0.200s\n", "0 passed, 1 failed, 0 skipped; 1 packages failed\n"}},
		{"TestMain's verdict after PASS fails the package", `
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Output":"PASS\n"}
{"Action":"output","Package":"p","Output":"testkit: tests left 1 databases behind\n"}
{"Action":"fail","Package":"p","Elapsed":1}
`, false, []string{"testkit: tests left 1 databases behind\nFAIL\tp\t1.000s\n", "1 passed, 0 failed, 0 skipped; 1 packages failed\n"}},
		{"a build error fails", `
{"ImportPath":"p.test","Action":"build-output","Output":"p/x.go:1:1: syntax error\n"}
{"ImportPath":"p.test","Action":"build-fail"}
{"Action":"start","Package":"p"}
{"Action":"output","Package":"p","Output":"FAIL\tp [build failed]\n"}
{"Action":"fail","Package":"p","Elapsed":0,"FailedBuild":"p.test"}
`, false, []string{"p/x.go:1:1: syntax error\n", "FAIL\tp\t0.000s\n", "; 1 packages failed\n"}},
		{"go's own error lines pass through; no result fails", "go: go.mod file not found\n", false,
			[]string{"go: go.mod file not found\n", "no package results"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			r := &report{out: &out, output: map[string][]string{}}
			if err := r.read(strings.NewReader(strings.TrimPrefix(tc.in, "\n"))); err != nil {
				t.Fatal(err)
			}
			r.printSlowest(1)
			if ok := r.summary(); ok != tc.ok {
				t.Errorf("summary() = %v, want %v", ok, tc.ok)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
