package testkit

import (
	"encoding/json"
	"strings"
	"testing"
)

// LogLines decodes out, the output of a slog JSON handler, one map a line; a line that is
// not a JSON object fails the test.
func LogLines(t testing.TB, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}
