package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/order"
)

// Broker faults between and during deliveries of one batch: a partial failure where some
// outputs were stored, leader moves and a lost node, a broker restart from its data
// directory. A failed delivery returns an error (so the trigger delivers the batch
// again), and after redelivery every topic holds exactly the records of a clean run —
// a record stored twice is byte-for-byte the same record, which the sink's upsert by
// order id turns into one row.

// faultBatch is a batch of n records over three partitions: mostly valid orders, every
// fifth one rejected, every tenth one undecodable.
func faultBatch(t testing.TB, n int) events.KafkaEvent {
	t.Helper()
	ev := events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{}}
	for i := range n {
		o := order.Order{
			OrderID:    fmt.Sprintf("0190a3c4-5e6f-7a8b-9c0d-%012d", i),
			UserID:     "user-" + strconv.Itoa(i%7),
			ProductID:  "CATALOG-0001",
			Qty:        int32(1 + i%9),
			UnitPrice:  1200,
			Status:     order.Pending,
			CreatedAt:  time.UnixMilli(1795320000000 + int64(i)).UTC(),
			TotalPrice: int64(1+i%9) * 1200,
		}
		if i%5 == 4 {
			o.TotalPrice++
		}
		v, err := order.Codec.Encode(&o)
		if err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			v = []byte("not an envelope " + strconv.Itoa(i))
		}
		p := int64(i % 3)
		k := fmt.Sprintf("orders.submitted-%d", p)
		ev.Records[k] = append(ev.Records[k], events.KafkaRecord{
			Topic: "orders.submitted", Partition: p, Offset: int64(len(ev.Records[k])),
			Timestamp: events.MilliSecondsEpochTime{Time: time.UnixMilli(1795320000000 + int64(i))},
			Key:       base64.StdEncoding.EncodeToString([]byte(o.OrderID)),
			Value:     base64.StdEncoding.EncodeToString(v),
			Headers:   []map[string]events.JSONNumberBytes{{order.HeaderEvent: []byte(order.EventSubmitted)}},
		})
	}
	return ev
}

var faultTopics = []string{testTopics.Orders, testTopics.Rejected, testTopics.DLQ}

// faultHandler is a handler producing to addrs that waits at most wait for its outputs.
func faultHandler(t testing.TB, addrs []string, wait time.Duration) *Handler {
	t.Helper()
	return &Handler{Producer: newClient(t, addrs), Topics: testTopics, Log: discardLog, MaxProduceWait: wait}
}

// topicContents maps each key of topic to its distinct records (value and headers).
func topicContents(t testing.TB, addrs []string, topic string) (records int, byKey map[string]map[string]bool) {
	t.Helper()
	byKey = map[string]map[string]bool{}
	rs := readTopicAt(t, addrs, topic)
	for _, r := range rs {
		var b strings.Builder
		fmt.Fprintf(&b, "p%d %q", r.Partition, r.Value)
		for _, h := range r.Headers {
			fmt.Fprintf(&b, " %s=%q", h.Key, h.Value)
		}
		if byKey[string(r.Key)] == nil {
			byKey[string(r.Key)] = map[string]bool{}
		}
		byKey[string(r.Key)][b.String()] = true
	}
	return len(rs), byKey
}

// sameAsClean compares every output topic of the faulted cluster with a clean run of ev.
func sameAsClean(t *testing.T, addrs []string, ev events.KafkaEvent) {
	t.Helper()
	clean := newCluster(t, 3)
	if _, err := faultHandler(t, clean.ListenAddrs(), 30*time.Second).Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	for _, topic := range faultTopics {
		n, got := topicContents(t, addrs, topic)
		_, want := topicContents(t, clean.ListenAddrs(), topic)
		if len(got) != len(want) {
			t.Errorf("%s: %d keys, a clean run has %d", topic, len(got), len(want))
		}
		for key, w := range want {
			g := got[key]
			if len(g) != 1 {
				t.Errorf("%s key %s: %d distinct records, want 1 (identical redelivered output)", topic, key, len(g))
				continue
			}
			for rec := range w {
				if !g[rec] {
					t.Errorf("%s key %s differs from a clean run:\n got %v\nwant %s", topic, key, g, rec)
				}
			}
		}
		t.Logf("%s: %d records for %d keys", topic, n, len(got))
	}
}

// refusingPartition is a one-broker cluster whose partition 1 of the orders topic refuses
// every produce request (NotEnoughReplicas) until the fault is removed, and a handler
// writing to it.
func refusingPartition(t *testing.T) (*kfake.Cluster, *kfake.FaultHandle, *Handler) {
	t.Helper()
	c := newCluster(t, 3)
	f := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: testTopics.Orders, Partitions: []int32{1},
		Err: kerr.NotEnoughReplicas, Count: -1})
	return c, f, faultHandler(t, c.ListenAddrs(), 2*time.Second)
}

// TestRedeliveryAfterPartialFailure: one output partition refuses writes, the others
// take theirs. Handle returns an error; the redelivered batch succeeds and every output
// is as a clean run's, the records stored by the failed delivery included.
func TestRedeliveryAfterPartialFailure(t *testing.T) {
	const n = 90
	ev := faultBatch(t, n)
	c, f, h := refusingPartition(t)
	_, err := h.Handle(context.Background(), ev)
	if err == nil {
		t.Fatal("Handle succeeded while a partition refused writes")
	}
	t.Logf("first delivery: %v (%d produce requests refused)", err, f.Hits())
	if stored, _ := topicContents(t, c.ListenAddrs(), testTopics.Rejected); stored == 0 {
		t.Fatal("nothing was stored by the failed delivery; the partial case was not reached")
	}
	f.Remove()
	h.MaxProduceWait = 30 * time.Second // a new invocation: see TestHandleProduceFailure
	if _, err := h.Handle(context.Background(), ev); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	sameAsClean(t, c.ListenAddrs(), ev)
}

// TestLeaderMovesAndNodeLoss: between deliveries every output partition's leader moves,
// and a broker is then lost; each delivery succeeds on stale metadata and the outputs
// are a clean run's.
func TestLeaderMovesAndNodeLoss(t *testing.T) {
	ev := faultBatch(t, 60)
	c := newCluster(t, 3, kfake.NumBrokers(3))
	h := faultHandler(t, c.ListenAddrs(), 30*time.Second)
	if _, err := h.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	for _, topic := range faultTopics {
		for p := range int32(3) {
			if err := c.MoveTopicPartition(topic, p, (c.LeaderFor(topic, p)+1)%3); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := h.Handle(context.Background(), ev); err != nil {
		t.Fatalf("after leader moves: %v", err)
	}
	victim := c.LeaderFor(testTopics.Orders, 0)
	if err := c.RemoveNode(victim); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(context.Background(), ev); err != nil {
		t.Fatalf("after losing node %d: %v", victim, err)
	}
	sameAsClean(t, c.ListenAddrs(), ev)
}

// TestBrokerRestartBetweenDeliveries: the broker is down for the first delivery (an
// error, nothing acknowledged), restarts on the same port from its data directory, and
// the redelivered batch's outputs are a clean run's.
func TestBrokerRestartBetweenDeliveries(t *testing.T) {
	testkit.Long(t, "restarts the broker from its data directory")
	ev := faultBatch(t, 60)
	port := testkit.FreePort(t)
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(t.TempDir()), kfake.SyncWrites()}
	c := newCluster(t, 3, opts...)
	addrs := c.ListenAddrs()
	h := faultHandler(t, addrs, 2*time.Second)
	if _, err := h.Handle(context.Background(), faultBatch(t, 6)); err != nil {
		t.Fatal(err) // the client knows the cluster before it goes away
	}
	c.Close()
	if _, err := h.Handle(context.Background(), ev); err == nil {
		t.Fatal("Handle succeeded with the broker down")
	}
	c2 := newCluster(t, 3, opts...)
	h.MaxProduceWait = 30 * time.Second
	if _, err := h.Handle(context.Background(), ev); err != nil {
		t.Fatalf("redelivery after the restart: %v", err)
	}
	sameAsClean(t, c2.ListenAddrs(), ev)
}

// TestBrokerLostMidLife: the client is connected (one delivery succeeded), then the
// broker goes away. The next delivery, with a Lambda deadline of a few seconds, returns
// ErrNotAcknowledged before that deadline (so the trigger retries the batch instead of
// the invocation running to "Task timed out"), and it is logged as one ERROR line with
// the request id that counts what was not acknowledged.
func TestBrokerLostMidLife(t *testing.T) {
	c := newCluster(t, 3)
	h := faultHandler(t, c.ListenAddrs(), 30*time.Second)
	var logs strings.Builder
	h.Log = slog.New(logging.NewJSONHandler(&logs, nil))
	handle := logging.Invocations(h.Log, h.Handle)
	if _, err := handle(context.Background(), faultBatch(t, 6)); err != nil {
		t.Fatal(err)
	}
	c.Close()

	const timeout = 3 * time.Second
	ctx, cancel := context.WithTimeout(lambdacontext.NewContext(t.Context(),
		&lambdacontext.LambdaContext{AwsRequestID: "req-lost"}), timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	_, err := handle(ctx, faultBatch(t, 30))
	late := time.Since(deadline)
	if !errors.Is(err, ErrNotAcknowledged) {
		t.Fatalf("error %v, want ErrNotAcknowledged", err)
	}
	if late >= 0 {
		t.Fatalf("answered %v after the Lambda deadline", late)
	}
	t.Logf("answered %v before the deadline: %v", -late, err)
	var errorLines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) {
			errorLines = append(errorLines, l)
		}
	}
	if len(errorLines) != 1 {
		t.Fatalf("%d ERROR lines, want 1:\n%s", len(errorLines), logs.String())
	}
	for _, want := range []string{`"request_id":"req-lost"`, "30 of 30", testTopics.Orders + " ",
		testTopics.Rejected + " ", testTopics.DLQ + " ", "orders.submitted/0 10"} {
		if !strings.Contains(errorLines[0], want) {
			t.Errorf("ERROR line does not say %q: %s", want, errorLines[0])
		}
	}
}
