package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want slog.Level
	}{
		{"", slog.LevelInfo}, {"info", slog.LevelInfo}, {"DEBUG", slog.LevelDebug},
		{"warn", slog.LevelWarn}, {"Warning", slog.LevelWarn}, {" error ", slog.LevelError},
	} {
		if got, err := Level(tc.in); err != nil || got != tc.want {
			t.Errorf("Level(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"verbose", "info+2", "debug-4", "1"} {
		if _, err := Level(bad); err == nil {
			t.Errorf("Level(%q) accepted", bad)
		}
	}
	if _, err := Level("verbose"); err.Error() != `LOG_LEVEL: unknown level "verbose" (want debug, info, warn, error)` {
		t.Errorf("error = %q", err)
	}
}

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, func(string) string { return "warn" })
	if err != nil {
		t.Fatal(err)
	}
	log.Info("dropped")
	log.Warn("kept", slog.String("order_id", "x"))
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	if line["msg"] != "kept" || line["order_id"] != "x" || line["level"] != "WARN" {
		t.Errorf("line = %v", line)
	}
	if _, err := New(&buf, func(string) string { return "loud" }); err == nil {
		t.Error("New accepted LOG_LEVEL=loud")
	}
}
