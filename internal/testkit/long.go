package testkit

import "testing"

// Long skips t under -short: what says why the test is long ("builds every function"),
// and the skip message reads "<what>; skipped with -short".
func Long(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("%s; skipped with -short", what)
	}
}
