package console

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

var at = time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)

func newTest(opts ...Option) (*Stream, *strings.Builder) {
	var b strings.Builder
	s := New(&b, opts...)
	s.now = func() time.Time { return at }
	return s, &b
}

func TestLines(t *testing.T) {
	s, b := newTest()
	w := s.Writer("create-order")
	w.Write([]byte("one\ntw"))
	w.Write([]byte("o\nthree"))
	s.Logf("gateway", "POST %s %d", "/x", 201)
	w.Close()
	want := "03:04:05.006 [create-order] INFO one\n" +
		"03:04:05.006 [create-order] INFO two\n" +
		"03:04:05.006 [gateway] INFO POST /x 201\n" +
		"03:04:05.006 [create-order] INFO three\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// A function's slog JSON line is rendered as text: level, message, then its members in
// order; its own time is dropped, so the line has one timestamp.
func TestFunctionJSONAsText(t *testing.T) {
	s, b := newTest()
	w := s.Writer("validate-order")
	w.Write([]byte(`{"time":"2026-01-02T03:04:05.001Z","level":"WARN","msg":"order rejected","order_id":"0193","reason":"unknown product","qty":5,"ok":false,"x":{"a":1}}` + "\n"))
	w.Write([]byte(`{"_aws":{"Timestamp":1},"Orders":1,"function":"create-order"}` + "\n"))
	want := `03:04:05.006 [validate-order] WARN order rejected order_id=0193 reason="unknown product" qty=5 ok=false x={"a":1}` + "\n" +
		`03:04:05.006 [validate-order] INFO metrics Orders=1 function=create-order` + "\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestLoggerText(t *testing.T) {
	s, b := newTest(WithLevel(slog.LevelInfo))
	log := s.Logger("sink").With("connector", "orders-sink")
	log.Debug("dropped")
	log.WithGroup("batch").Info("written", "rows", 3, slog.Duration("took", 1500*time.Millisecond))
	log.Error("put failed", "error", errors.New("deadlock found"))
	want := "03:04:05.006 [sink] INFO written connector=orders-sink batch.rows=3 batch.took=1.5s\n" +
		"03:04:05.006 [sink] ERROR put failed connector=orders-sink error=\"deadlock found\"\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// In JSON every line is one object, a function's included, with the component added.
func TestJSON(t *testing.T) {
	s, b := newTest(WithFormat(JSON))
	s.Logf("stack", "topics ready")
	s.Logger("sink").Info("written", "order_id", "0193", "rows", 1)
	w := s.Writer("create-order")
	w.Write([]byte(`{"time":"x","level":"INFO","msg":"order submitted","order_id":"0193"}` + "\nplain text\n"))
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	for i, want := range []map[string]any{
		{"component": "stack", "level": "INFO", "msg": "topics ready"},
		{"component": "sink", "msg": "written", "order_id": "0193", "rows": 1.0},
		{"component": "create-order", "msg": "order submitted", "order_id": "0193"},
		{"component": "create-order", "msg": "plain text"},
	} {
		var got map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d not JSON: %s", i, lines[i])
		}
		if got["time"] != "2026-01-02T03:04:05.006Z" {
			t.Errorf("line %d time = %v", i, got["time"])
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("line %d: %s = %v, want %v (%s)", i, k, got[k], v, lines[i])
			}
		}
	}
}

func TestLevelFilter(t *testing.T) {
	s, b := newTest(WithLevel(slog.LevelWarn))
	s.Logf("stack", "info is dropped")
	s.Warnf("trigger", "commit failed")
	s.Writer("create-order").Write([]byte(`{"level":"INFO","msg":"dropped too"}` + "\n"))
	if want := "03:04:05.006 [trigger] WARN commit failed\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": Text, "text": Text, "json": JSON} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("ParseFormat(yaml) error = %v", err)
	}
}
