package trigger_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/local/trigger"
)

func TestFailed(t *testing.T) {
	batch := []*kgo.Record{
		{Topic: "t", Partition: 0, Offset: 4}, {Topic: "t", Partition: 0, Offset: 5}, {Topic: "t", Partition: 0, Offset: 6},
		{Topic: "t", Partition: 1, Offset: 9}, {Topic: "t", Partition: 1, Offset: 10},
	}
	ids := func(rs []*kgo.Record) string {
		var s []string
		for _, r := range rs {
			s = append(s, fmt.Sprintf("%d@%d", r.Partition, r.Offset))
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		name, response, retry string
		bad                   bool
	}{
		{"null", `null`, "", false},
		{"empty", ``, "", false},
		{"empty object", `{}`, "", false},
		{"empty list", `{"batchItemFailures":[]}`, "", false},
		{"one failure: it and the rest of its partition", `{"batchItemFailures":[{"itemIdentifier":{"partition":"t-0","offset":5}}]}`, "0@5 0@6", false},
		{"the lowest offset of a partition wins", `{"batchItemFailures":[{"itemIdentifier":{"partition":"t-0","offset":6}},{"itemIdentifier":{"partition":"t-0","offset":4}}]}`, "0@4 0@5 0@6", false},
		{"two partitions", `{"batchItemFailures":[{"itemIdentifier":{"partition":"t-1","offset":10}},{"itemIdentifier":{"partition":"t-0","offset":6}}]}`, "0@6 1@10", false},
		{"null identifier", `{"batchItemFailures":[{"itemIdentifier":null}]}`, "", true},
		{"bad key name", `{"batchItemFailures":[{"itemIdentifier":{"part":"t-0","offset":5}}]}`, "", true},
		{"offset not in the batch", `{"batchItemFailures":[{"itemIdentifier":{"partition":"t-0","offset":99}}]}`, "", true},
		{"partition not in the batch", `{"batchItemFailures":[{"itemIdentifier":{"partition":"u-0","offset":5}}]}`, "", true},
		{"a string identifier (the stream form)", `{"batchItemFailures":[{"itemIdentifier":"5"}]}`, "", true},
		{"not JSON", `nope`, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			retry, err := trigger.Failed(batch, []byte(tc.response))
			if (err != nil) != tc.bad || ids(retry) != tc.retry {
				t.Fatalf("Failed = %q, %v; want %q, error %v", ids(retry), err, tc.retry, tc.bad)
			}
		})
	}
}

// poisoned is a function that fails on the records whose value starts with "poison":
// with an error, or, with partial answers, by reporting them.
type poisoned struct {
	partial bool
	mu      sync.Mutex
	seen    map[string]int // value → deliveries
	calls   int
}

func (p *poisoned) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	var ev events.KafkaEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	type id struct {
		Partition string `json:"partition"`
		Offset    int64  `json:"offset"`
	}
	var failed []map[string]id
	poison := false
	for key, recs := range ev.Records {
		for _, r := range recs {
			v, _ := base64.StdEncoding.DecodeString(r.Value)
			p.seen[string(v)]++
			if strings.HasPrefix(string(v), "poison") {
				poison = true
				failed = append(failed, map[string]id{"itemIdentifier": {key, r.Offset}})
			}
		}
	}
	if !poison {
		return []byte(`null`), nil
	}
	if !p.partial {
		return nil, errors.New("a poison record")
	}
	return json.Marshal(map[string]any{"batchItemFailures": failed})
}

// runTrigger produces values (partition i%2) and runs a trigger with eh until every
// value has been delivered or given up on, then stops it.
func runTrigger(t *testing.T, eh trigger.ErrorHandling, fn *poisoned, values []string) map[string]string {
	t.Helper()
	var recs []*kgo.Record
	for i, v := range values {
		recs = append(recs, &kgo.Record{Partition: int32(i % 2), Value: []byte(v)})
	}
	brokers := produceIn(t, recs...)
	var mu sync.Mutex
	gaveUp := map[string]string{}
	eh.OnFailure = func(_ context.Context, rs []*kgo.Record, reason string) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rs {
			gaveUp[string(r.Value)] = reason
		}
		return nil
	}
	fn.seen = map[string]int{}
	tr, err := trigger.New(trigger.Config{Brokers: brokers, Topics: []string{"in"}, Group: "g",
		BatchSize: len(values), Window: 200 * time.Millisecond, Function: fn, Logf: t.Logf,
		MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, Errors: eh})
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, tr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		fn.mu.Lock()
		mu.Lock()
		done := 0
		for _, v := range values {
			if _, gone := gaveUp[v]; gone || (fn.seen[v] > 0 && !strings.HasPrefix(v, "poison")) {
				done++
			}
		}
		mu.Unlock()
		fn.mu.Unlock()
		if done == len(values) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d values settled", done, len(values))
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	return gaveUp
}

func TestErrorControls(t *testing.T) {
	values := []string{"a0", "b0", "a1", "b1", "poison-a", "b2", "a3", "b3"} // partition 0: a…, poison-a; 1: b…
	t.Run("partial batch response retries its partition from the failed offset", func(t *testing.T) {
		fn := &poisoned{partial: true}
		gaveUp := runTrigger(t, trigger.ErrorHandling{LimitRetries: true, MaxRetries: 2, ReportBatchItemFailures: true}, fn, values)
		if len(gaveUp) != 2 || !strings.Contains(gaveUp["poison-a"], "retries exhausted") || gaveUp["a3"] == "" {
			t.Fatalf("given up on %v, want poison-a and a3 (after it in its partition)", gaveUp)
		}
		// Records before the failure, and the other partition, are delivered once.
		for _, v := range []string{"a0", "a1", "b0", "b1", "b2", "b3"} {
			if fn.seen[v] != 1 {
				t.Errorf("%s delivered %d times, want once", v, fn.seen[v])
			}
		}
		if fn.seen["poison-a"] != 3 || fn.seen["a3"] != 3 {
			t.Errorf("poison-a delivered %d times, a3 %d; want 1 + 2 retries", fn.seen["poison-a"], fn.seen["a3"])
		}
	})
	t.Run("bisect isolates the poison record", func(t *testing.T) {
		fn := &poisoned{}
		gaveUp := runTrigger(t, trigger.ErrorHandling{LimitRetries: true, MaxRetries: 1, Bisect: true}, fn, values)
		if len(gaveUp) != 1 || gaveUp["poison-a"] == "" {
			t.Fatalf("given up on %v, want only poison-a", gaveUp)
		}
		for _, v := range values {
			if v != "poison-a" && fn.seen[v] == 0 {
				t.Errorf("%s never delivered", v)
			}
		}
	})
	t.Run("without bisect the whole batch is given up", func(t *testing.T) {
		fn := &poisoned{}
		gaveUp := runTrigger(t, trigger.ErrorHandling{LimitRetries: true, MaxRetries: 0}, fn, values)
		if len(gaveUp) != len(values) || fn.calls != 1 {
			t.Fatalf("given up on %d of %d after %d calls", len(gaveUp), len(values), fn.calls)
		}
	})
	t.Run("records older than the maximum age go to the destination", func(t *testing.T) {
		fn := &poisoned{}
		gaveUp := runTrigger(t, trigger.ErrorHandling{MaxRecordAge: time.Nanosecond}, fn, []string{"x", "y"})
		if len(gaveUp) != 2 || !strings.Contains(gaveUp["x"], "age") || fn.calls != 0 {
			t.Fatalf("given up on %v after %d calls", gaveUp, fn.calls)
		}
	})
	t.Run("infinite retries stop at 10 with a destination", func(t *testing.T) {
		fn := &poisoned{}
		gaveUp := runTrigger(t, trigger.ErrorHandling{}, fn, []string{"poison"})
		if fn.seen["poison"] != 11 || gaveUp["poison"] == "" {
			t.Fatalf("delivered %d times (want 1 + 10 retries), given up: %v", fn.seen["poison"], gaveUp)
		}
	})
}
