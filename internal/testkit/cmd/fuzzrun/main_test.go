package main

import "testing"

func TestDeadlineRace(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      bool
	}{
		{"the race", `fuzz: elapsed: 5s, execs: 97186 (20799/sec), new interesting: 43 (total: 193)
--- FAIL: FuzzDecode (5.03s)
    context deadline exceeded
FAIL
exit status 1
FAIL	github.com/ordersync/ordersync/shared/envelope	5.052s
`, true},
		{"a failing input", `--- FAIL: FuzzDecode (0.40s)
    --- FAIL: FuzzDecode (0.00s)
        fuzz_test.go:40: decoded twice to different values
    Failing input written to testdata/fuzz/FuzzDecode/0123abcd
    To re-run:
    go test -run=FuzzDecode/0123abcd
FAIL
`, false},
		{"a panic", `--- FAIL: FuzzDecode (0.40s)
    context deadline exceeded
panic: runtime error: index out of range [recovered]
FAIL
`, false},
		{"an error besides the deadline", `--- FAIL: FuzzDecode (5.01s)
    fuzz_test.go:12: seed corpus: decode: unexpected end
    context deadline exceeded
FAIL
`, false},
		{"a build failure", "# github.com/ordersync/ordersync/shared/envelope\n./x.go:1:1: syntax error\nFAIL\n", false},
	} {
		if got := deadlineRace([]byte(tc.out)); got != tc.want {
			t.Errorf("%s: deadlineRace = %v, want %v", tc.name, got, tc.want)
		}
	}
}
