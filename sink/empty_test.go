package sink

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/logging"
)

const testTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// runLogged runs s until it has handled n records (or stopped), with its logs as JSON
// lines in out, and returns Run's error after stopping it.
func runLogged(t *testing.T, s *Sink, out *testkit.Buffer, n int64) error {
	t.Helper()
	s.Progress = -1
	s.Logger = slog.New(logging.NewJSONHandler(out, nil))
	r := runSink(t, s)
	if n > 0 {
		r.waitRecords(t, n)
	}
	return r.stop(t)
}

// A zero-length (non-null) value is not a tombstone: JsonConverter raises a
// DataException on it, so with errors.tolerance=all it is dead-lettered with the
// converter's context headers and the records after it are written. Every row written
// is one INFO line with its order_id; the dead letter is one WARN line with its
// order_id, reason and traceparent.
func TestEmptyValueIsDeadLetteredNotATombstone(t *testing.T) {
	eachTarget(t, func(t *testing.T, d *db.DB) {
		topic, table, brokers := ordersTopic(t, d, 1)
		dlq := unique("orders.sink.dlq")
		good1, good2 := orderRecord(t, topic, testOrder(1)), orderRecord(t, topic, testOrder(2))
		good1.Headers = []kgo.RecordHeader{{Key: "traceparent", Value: []byte(testTraceparent)}}
		emptyID := testOrder(3).OrderID
		empty := &kgo.Record{Topic: topic, Key: []byte(emptyID), Value: []byte{},
			Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte(testTraceparent)}}}
		produce(t, brokers, good1, empty, good2)

		cfg := ordersConfig(t, topic, table, "errors.tolerance", "all",
			"errors.deadletterqueue.topic.name", dlq, "errors.deadletterqueue.context.headers.enable", "true")
		var out testkit.Buffer
		if err := runLogged(t, newSink(t, cfg, d, brokers), &out, 3); err != nil {
			t.Fatalf("Run = %v, want the sink to go on past the empty value", err)
		}
		if got := count(t, d, table); got != 2 {
			t.Fatalf("%d rows, want the 2 good ones", got)
		}
		dead := consumeAll(t, brokers, dlq, 1)
		if dead[0].Value == nil || len(dead[0].Value) != 0 || string(dead[0].Key) != emptyID {
			t.Fatalf("dead letter key %q value %#v, want the original key and an empty (non-null) value", dead[0].Key, dead[0].Value)
		}
		h := headers(dead[0])
		for k, v := range map[string]string{
			"__connect.errors.offset":               "1",
			"__connect.errors.stage":                "VALUE_CONVERTER",
			"__connect.errors.class.name":           converterClass,
			"__connect.errors.exception.class.name": dataException,
			"traceparent":                           testTraceparent,
		} {
			if h[k] != v {
				t.Errorf("dead letter header %s = %q, want %q", k, h[k], v)
			}
		}
		checkRecordLogs(t, out.String(), emptyID, testOrder(1).OrderID, testOrder(2).OrderID)
	})
}

// checkRecordLogs wants one "row written" INFO line per written order, one "record
// dead-lettered" WARN line for dead, and order_id (and traceparent where the record has
// one) on each.
func checkRecordLogs(t *testing.T, out, dead string, written ...string) {
	t.Helper()
	rows := map[string]int{}
	var deadLines []map[string]any
	for _, l := range testkit.LogLines(t, out) {
		switch l["msg"] {
		case "row written":
			if l["level"] != "INFO" {
				t.Errorf("row line at %v: %v", l["level"], l)
			}
			id, _ := l["order_id"].(string)
			rows[id]++
			if id == written[0] && l["traceparent"] != testTraceparent {
				t.Errorf("row line for %s has traceparent %v, want %s", id, l["traceparent"], testTraceparent)
			}
		case "record dead-lettered":
			deadLines = append(deadLines, l)
		}
	}
	for _, id := range written {
		if rows[id] != 1 {
			t.Errorf("%d \"row written\" lines for order %s, want 1 (lines %v)", rows[id], id, rows)
		}
	}
	if len(rows) != len(written) {
		t.Errorf("row lines for %v, want only %v", rows, written)
	}
	if len(deadLines) != 1 {
		t.Fatalf("%d \"record dead-lettered\" lines, want 1:\n%s", len(deadLines), out)
	}
	l := deadLines[0]
	if l["level"] != "WARN" || l["order_id"] != dead || l["traceparent"] != testTraceparent ||
		!strings.Contains(l["reason"].(string), "zero-length") {
		t.Errorf("dead letter line %v: want WARN with order_id %s, traceparent and the reason", l, dead)
	}
}

// With errors.tolerance=none a zero-length value fails the task, as Connect's would;
// the stop is logged with the record's order_id.
func TestEmptyValueWithoutToleranceStops(t *testing.T) {
	eachTarget(t, func(t *testing.T, d *db.DB) {
		topic, table, brokers := ordersTopic(t, d, 1)
		emptyID := testOrder(1).OrderID
		produce(t, brokers, &kgo.Record{Topic: topic, Key: []byte(emptyID), Value: []byte{}})
		var out testkit.Buffer
		s := newSink(t, ordersConfig(t, topic, table), d, brokers)
		s.Progress = -1
		s.Logger = slog.New(logging.NewJSONHandler(&out, nil))
		err := s.Run(context.Background())
		if !errors.Is(err, ErrTolerance) || !errors.Is(err, ErrConverter) || !strings.Contains(err.Error(), "VALUE_CONVERTER") {
			t.Fatalf("Run = %v, want a tolerance error for the value converter", err)
		}
		if errors.Is(err, ErrRecord) || strings.Contains(err.Error(), "tombstone)") {
			t.Fatalf("Run = %v: the empty value was taken for a tombstone", err)
		}
		var stopped bool
		for _, l := range testkit.LogLines(t, out.String()) {
			if l["msg"] == "sink stopped" && l["level"] == "ERROR" && l["order_id"] == emptyID {
				stopped = true
			}
		}
		if !stopped {
			t.Errorf("no ERROR \"sink stopped\" line with order_id %s:\n%s", emptyID, out.String())
		}
	})
}

// The converters tell null from empty: a null value is a tombstone (deleted with
// delete.enabled), an empty one a converter failure; the same for a JSON key.
func TestConvertEmptyIsNotNull(t *testing.T) {
	cfg := testConfig(t, "empty", "topics", "t", "pk.mode", "record_key", "delete.enabled", "true",
		"key.converter", JSONConverter, "key.converter.schemas.enable", "true")
	s := &Sink{cfg: cfg}
	key := []byte(`{"schema":{"type":"string"},"payload":"k"}`)
	tests := []struct {
		name       string
		key, value []byte
		stage      string // "" for a tombstone
	}{
		{"null value", key, nil, ""},
		{"empty value", key, []byte{}, "VALUE_CONVERTER"},
		{"empty key", []byte{}, nil, "KEY_CONVERTER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, f, err := s.convert(&kgo.Record{Topic: "t", Key: tt.key, Value: tt.value})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.stage == "" && (f != nil || !r.tombstone()):
				t.Fatalf("got %+v, %+v; want a tombstone", r, f)
			case tt.stage != "" && (f == nil || f.stage != tt.stage || !errors.Is(f.err, ErrConverter) || f.exception != dataException):
				t.Fatalf("got %+v, %+v; want a %s DataException", r, f, tt.stage)
			}
		})
	}
}

// BenchmarkLogRows is the cost of the per-row INFO line ("row written", with order_id,
// coordinates and traceparent) through the JSON handler `ordersync sink` logs with, per
// row.
func BenchmarkLogRows(b *testing.B) {
	s := &Sink{cfg: Config{Name: "bench"}}
	s.Logger = slog.New(logging.NewJSONHandler(io.Discard, nil))
	recs := make([]*record, 3000)
	for i := range recs {
		o := testOrder(i)
		kr := orderRecord(b, "orders", o)
		kr.Headers = []kgo.RecordHeader{{Key: "traceparent", Value: []byte(testTraceparent)}}
		r, _, err := (&Sink{cfg: testConfig(b, "x", "topics", "orders")}).convert(kr)
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = r
	}
	ctx := context.Background()
	for b.Loop() {
		s.logRows(ctx, recs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/row")
}

// TestLogRowsWrittenTogether: a batch's row lines reach the output in a few writes of
// up to 64 KiB, not one write each.
func TestLogRowsWrittenTogether(t *testing.T) {
	var w testkit.Buffer
	s := &Sink{cfg: Config{Name: "test"}}
	s.Logger = slog.New(logging.NewJSONHandler(&w, nil))
	recs := make([]*record, 1000)
	for i := range recs {
		r, _, err := (&Sink{cfg: testConfig(t, "x", "topics", "orders")}).convert(orderRecord(t, "orders", testOrder(i)))
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = r
	}
	s.logRows(context.Background(), recs)
	if lines, writes := strings.Count(w.String(), "\n"), len(w.Writes()); lines != len(recs) || writes > 10 {
		t.Errorf("%d lines in %d writes, want %d lines in a few", lines, writes, len(recs))
	}
}
