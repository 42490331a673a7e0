package trigger_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/local/trigger"
)

func TestEventGolden(t *testing.T) {
	ts := time.UnixMilli(1795320306789)
	records := []*kgo.Record{
		{Topic: "orders.submitted", Partition: 1, Offset: 7, Timestamp: ts, Key: []byte("o-1"), Value: []byte(`{"a":1}`),
			Headers: []kgo.RecordHeader{{Key: "ordersync-event", Value: []byte("OrderSubmitted")}, {Key: "bin", Value: []byte{0xff, 0x01}}}},
		{Topic: "orders.submitted", Partition: 0, Offset: 3, Timestamp: ts, Value: []byte(`{"b":2}`)},
		{Topic: "orders.submitted", Partition: 1, Offset: 8, Timestamp: ts, Key: []byte("o-2"), Value: nil},
	}
	ev := trigger.Event(trigger.SourceMSK, "arn:aws:kafka:us-east-1:123456789012:cluster/local/1", "127.0.0.1:9092", records)
	// The golden file is what aws-lambda-go reads back.
	var back events.KafkaEvent
	if err := json.Unmarshal(testkit.GoldenJSON(t, filepath.Join("testdata", "kafka-event.golden.json"), ev), &back); err != nil {
		t.Fatal(err)
	}
	p1 := back.Records["orders.submitted-1"]
	if len(p1) != 2 || p1[0].Offset != 7 || string(p1[0].Headers[1]["bin"]) != "\xff\x01" || p1[0].TimestampType != "CREATE_TIME" {
		t.Errorf("round trip: %+v", p1)
	}
}

type recorder struct {
	mu       sync.Mutex
	failures int // fail this many invocations first
	calls    []events.KafkaEvent
	payloads [][]byte
	done     chan struct{}
	want     int
	seen     int
}

func (r *recorder) Invoke(_ context.Context, p []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ev events.KafkaEvent
	if err := json.Unmarshal(p, &ev); err != nil {
		return nil, err
	}
	r.calls = append(r.calls, ev)
	r.payloads = append(r.payloads, p)
	if r.failures > 0 {
		r.failures--
		return nil, errors.New("handler failed")
	}
	for _, recs := range ev.Records {
		r.seen += len(recs)
	}
	if r.seen >= r.want {
		select {
		case <-r.done:
		default:
			close(r.done)
		}
	}
	return []byte(`null`), nil
}

func TestDeliverRetryCommit(t *testing.T) {
	const n = 25
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Partition: int32(i % 2), Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i),
			Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("x")}}})
	}
	brokers := produceIn(t, recs...)
	rec := &recorder{failures: 3, done: make(chan struct{}), want: n}
	tr, err := trigger.New(trigger.Config{
		Name: "test", Brokers: brokers, Topics: []string{"in"}, Group: "g-test",
		BatchSize: 10, Window: 50 * time.Millisecond, EventSource: trigger.SourceSelfManagedKafka,
		Function: rec, Logf: t.Logf, MinBackoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, tr)
	select {
	case <-rec.done:
	case <-time.After(30 * time.Second):
		t.Fatal("records were not all delivered")
	}
	stop()

	rec.mu.Lock()
	defer rec.mu.Unlock()
	// The failed batch is retried as it was, never skipped.
	for i := 1; i <= 3; i++ {
		if !bytes.Equal(rec.payloads[i], rec.payloads[0]) {
			t.Errorf("attempt %d carried a different batch than the failed one", i+1)
		}
	}
	next := map[string]int64{}
	for _, ev := range rec.calls[3:] {
		total := 0
		if ev.EventSource != "SelfManagedKafka" || ev.BootstrapServers == "" {
			t.Errorf("event source %q, bootstrap %q", ev.EventSource, ev.BootstrapServers)
		}
		for key, recs := range ev.Records {
			total += len(recs)
			for _, r := range recs {
				if want := fmt.Sprintf("%s-%d", r.Topic, r.Partition); key != want {
					t.Errorf("record under %q, want %q", key, want)
				}
				if r.Offset != next[key] {
					t.Errorf("%s: offset %d, want %d (in order, none skipped, none twice)", key, r.Offset, next[key])
				}
				next[key] = r.Offset + 1
				if v, err := base64.StdEncoding.DecodeString(r.Value); err != nil || len(v) == 0 {
					t.Errorf("value %q: %v", r.Value, err)
				}
				if len(r.Headers) != 1 || string(r.Headers[0]["h"]) != "x" {
					t.Errorf("headers %v", r.Headers)
				}
			}
		}
		if total > 10 {
			t.Errorf("batch of %d records, batch size is 10", total)
		}
	}
	// Every delivered batch is committed.
	var sum int64
	committed(t, brokers, "g-test").Each(func(o kadm.OffsetResponse) { sum += o.At })
	if sum != n {
		t.Errorf("committed offsets sum to %d, want %d", sum, n)
	}
}

func TestFailingBatchIsNotCommitted(t *testing.T) {
	brokers := produceIn(t, &kgo.Record{Value: []byte("poison")})
	rec := &recorder{failures: 1 << 30, done: make(chan struct{}), want: 1}
	tr, err := trigger.New(trigger.Config{Brokers: brokers, Topics: []string{"in"}, Group: "g-fail",
		BatchSize: 5, Function: rec, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, tr)
	for {
		rec.mu.Lock()
		calls := len(rec.calls)
		rec.mu.Unlock()
		if calls >= 5 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	committed(t, brokers, "g-fail").Each(func(o kadm.OffsetResponse) {
		if o.At > 0 {
			t.Errorf("%s[%d] committed at %d past a batch that never succeeded", o.Topic, o.Partition, o.At)
		}
	})
}
