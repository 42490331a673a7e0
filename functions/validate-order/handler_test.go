package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/metrics"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/trace"
)

// pending returns a valid submitted order; n makes its ids unique.
func pending(n int) order.Order {
	return order.Order{
		OrderID:    fmt.Sprintf("0190a3c4-5e6f-7a8b-9c0d-%012d", n),
		UserID:     "user-42",
		ProductID:  "CATALOG-0001",
		Qty:        5,
		UnitPrice:  1200,
		TotalPrice: 6000,
		Status:     order.Pending,
		CreatedAt:  time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond),
	}
}

// in is one input record before the trigger's encoding.
type in struct {
	key, value []byte
	rawValue   string // sent as is instead of value's base64 when set
	headers    []kgo.RecordHeader
}

func encode(t testing.TB, o order.Order) in {
	t.Helper()
	v, err := order.Codec.Encode(&o)
	if err != nil {
		t.Fatal(err)
	}
	return in{key: []byte(o.OrderID), value: v, headers: []kgo.RecordHeader{{Key: order.HeaderEvent, Value: []byte(order.EventSubmitted)}}}
}

// withTrace is x with the headers create-order writes for a traced request:
// ordersync-event, traceparent and the X-Ray trace header.
func withTrace(x in) in {
	x.headers = []kgo.RecordHeader{{Key: order.HeaderEvent, Value: []byte(order.EventSubmitted)},
		{Key: trace.HeaderTraceparent, Value: []byte("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01")},
		{Key: trace.HeaderXRay, Value: []byte("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")}}
	return x
}

// decoded is ev as the function reads it from the trigger's JSON.
func decoded(t testing.TB, ev events.KafkaEvent) batchEvent {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeEvent(payload)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// kafkaEvent builds the event an MSK trigger delivers for records, spread round-robin
// over three partitions of the submitted topic.
func kafkaEvent(records ...in) events.KafkaEvent {
	ev := events.KafkaEvent{
		EventSource:      "aws:kafka",
		EventSourceARN:   "arn:aws:kafka:eu-west-1:111122223333:cluster/ordersync/11111111-2222-3333-4444-555555555555-1",
		BootstrapServers: "b-1.ordersync.abcdef.c2.kafka.eu-west-1.amazonaws.com:9098",
		Records:          map[string][]events.KafkaRecord{},
	}
	for i, r := range records {
		p := int64(i % 3)
		k := fmt.Sprintf("%s-%d", testTopics.Submitted, p)
		kr := events.KafkaRecord{
			Topic:         testTopics.Submitted,
			Partition:     p,
			Offset:        int64(len(ev.Records[k])) + 100,
			Timestamp:     events.MilliSecondsEpochTime{Time: time.UnixMilli(1795080600000 + int64(i))},
			TimestampType: "CREATE_TIME",
			Headers:       []map[string]events.JSONNumberBytes{},
		}
		if r.key != nil {
			kr.Key = base64.StdEncoding.EncodeToString(r.key)
		}
		kr.Value = base64.StdEncoding.EncodeToString(r.value)
		if r.rawValue != "" {
			kr.Value = r.rawValue
		}
		for _, h := range r.headers {
			kr.Headers = append(kr.Headers, map[string]events.JSONNumberBytes{h.Key: h.Value})
		}
		ev.Records[k] = append(ev.Records[k], kr)
	}
	return ev
}

// readTopic returns every record of topic, ordered by partition and offset.
func readTopic(t testing.TB, c *kfake.Cluster, topic string) []*kgo.Record {
	t.Helper()
	return readTopicAt(t, c.ListenAddrs(), topic)
}

// readTopicAt is readTopic for the brokers at addrs.
func readTopicAt(t testing.TB, addrs []string, topic string) []*kgo.Record {
	t.Helper()
	return testkit.ReadTopic(t, addrs, topic)
}

func header(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

func decodeOrder(t testing.TB, r *kgo.Record) order.Order {
	t.Helper()
	var o order.Order
	if err := order.Codec.Decode(r.Value, &o); err != nil {
		t.Fatalf("%s %s: %v", r.Topic, r.Key, err)
	}
	return o
}

func byKey(rs []*kgo.Record) map[string]*kgo.Record {
	m := map[string]*kgo.Record{}
	for _, r := range rs {
		m[string(r.Key)] = r
	}
	return m
}

func TestHandleMixedBatch(t *testing.T) {
	c := newCluster(t, 3)
	h := newHandler(t, c, nil)

	ok1, ok2 := pending(1), pending(2)
	ok2.Qty, ok2.TotalPrice = 10000, 12000000

	badTotal := pending(3)
	badTotal.TotalPrice = 1

	notPending := pending(4)
	notPending.Status = order.Accepted

	badFields := pending(5)
	badFields.Qty, badFields.TotalPrice, badFields.UserID = 0, 0, "user 42"

	wrongKey := encode(t, pending(6))
	wrongKey.key = []byte("not-the-order-id")

	traced := encode(t, ok1)
	traced.headers = append([]kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}}, traced.headers...)

	mismatch := in{key: []byte("mismatch"), value: []byte(`{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"order_id"}],"optional":false,"name":"orders"},"payload":{"order_id":"x"}}`)}
	inputs := []in{
		traced,              // 0 accepted, keeps traceparent
		encode(t, badTotal), // 1 rejected
		{key: []byte("b64"), rawValue: "%%% not base64 %%%", headers: []kgo.RecordHeader{{Key: "origin", Value: []byte{0x80, 0xff, 0x00}}}}, // 2 dlq
		encode(t, notPending),                                // 3 rejected
		{key: []byte("json"), value: []byte("hello, kafka")}, // 4 dlq
		encode(t, badFields),                                 // 5 rejected
		wrongKey,                                             // 6 rejected
		mismatch,                                             // 7 dlq
		encode(t, ok2),                                       // 8 accepted
		{key: []byte("tombstone")},                           // 9 dlq: no value
	}
	ev := kafkaEvent(inputs...)
	res, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Result{Records: 10, Accepted: 2, Rejected: 4, DeadLettered: 4}); res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}

	t.Run("accepted", func(t *testing.T) {
		got := byKey(readTopic(t, c, testTopics.Orders))
		if len(got) != 2 {
			t.Fatalf("%d accepted records, want 2", len(got))
		}
		for _, want := range []order.Order{ok1, ok2} {
			r := got[want.OrderID]
			if r == nil {
				t.Fatalf("no accepted record with key %s", want.OrderID)
			}
			o := decodeOrder(t, r)
			want.Status = order.Accepted
			if o != want {
				t.Errorf("accepted order\n got %+v\nwant %+v", o, want)
			}
			if ev, _ := header(r, order.HeaderEvent); ev != order.EventAccepted {
				t.Errorf("%s = %q, want %s", order.HeaderEvent, ev, order.EventAccepted)
			}
		}
		r := got[ok1.OrderID]
		if tp, ok := header(r, "traceparent"); !ok || !strings.HasPrefix(tp, "00-0af7") {
			t.Errorf("traceparent header not carried over: %v", r.Headers)
		}
		if n := len(r.Headers); n != 2 {
			t.Errorf("headers %v, want traceparent and %s only", r.Headers, order.HeaderEvent)
		}
	})

	t.Run("rejected", func(t *testing.T) {
		got := byKey(readTopic(t, c, testTopics.Rejected))
		for _, tc := range []struct {
			name   string
			key    string
			o      order.Order
			reason []string
		}{
			{"total", badTotal.OrderID, badTotal, []string{"total_price: must equal qty × unit_price (6000)"}},
			{"status", notPending.OrderID, notPending, []string{`status: must be PENDING, not "ACCEPTED"`}},
			{"fields", badFields.OrderID, badFields, []string{"user_id: ", "qty: must be an integer between 1 and 10000"}},
			{"key", "not-the-order-id", pending(6), []string{"key: must be the order id"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := got[tc.key]
				if r == nil {
					t.Fatalf("no rejected record with key %s", tc.key)
				}
				o := decodeOrder(t, r)
				for _, s := range tc.reason {
					if !strings.Contains(o.Reason, s) {
						t.Errorf("reason %q does not contain %q", o.Reason, s)
					}
				}
				want := tc.o
				want.Status, want.Reason = order.Rejected, o.Reason
				if o != want {
					t.Errorf("rejected order\n got %+v\nwant %+v", o, want)
				}
				if ev, _ := header(r, order.HeaderEvent); ev != order.EventRejected {
					t.Errorf("%s = %q, want %s", order.HeaderEvent, ev, order.EventRejected)
				}
			})
		}
		if len(got) != 4 {
			t.Errorf("%d rejected records, want 4", len(got))
		}
	})

	t.Run("dead-lettered", func(t *testing.T) {
		got := byKey(readTopic(t, c, testTopics.DLQ))
		if len(got) != 4 {
			t.Fatalf("%d dead-letter records, want 4", len(got))
		}
		for _, tc := range []struct {
			i       int
			key     string
			value   []byte
			errPart string
		}{
			{2, "b64", []byte("%%% not base64 %%%"), "value: not valid base64"},
			{4, "json", []byte("hello, kafka"), "value: "},
			{7, "mismatch", inputs[7].value, "value: "},
			{9, "tombstone", nil, "value: empty value"},
		} {
			r := got[tc.key]
			if r == nil {
				t.Fatalf("no dead-letter record with key %s", tc.key)
			}
			if !bytes.Equal(r.Value, tc.value) {
				t.Errorf("%s: value %q, want the original %q", tc.key, r.Value, tc.value)
			}
			src := ev.Records[fmt.Sprintf("%s-%d", testTopics.Submitted, tc.i%3)][tc.i/3]
			want := slices.Clone(inputs[tc.i].headers)
			want = append(want,
				kgo.RecordHeader{Key: order.HeaderError, Value: nil},
				kgo.RecordHeader{Key: order.HeaderSourceTopic, Value: []byte(testTopics.Submitted)},
				kgo.RecordHeader{Key: order.HeaderSourcePartition, Value: []byte(fmt.Sprint(tc.i % 3))},
				kgo.RecordHeader{Key: order.HeaderSourceOffset, Value: []byte(fmt.Sprint(src.Offset))},
			)
			if len(r.Headers) != len(want) {
				t.Fatalf("%s: headers %v, want %v", tc.key, r.Headers, want)
			}
			for i, h := range want {
				if h.Key == order.HeaderError {
					if r.Headers[i].Key != h.Key || !strings.HasPrefix(string(r.Headers[i].Value), tc.errPart) {
						t.Errorf("%s: header %d = %s: %q, want %s starting %q", tc.key, i, r.Headers[i].Key, r.Headers[i].Value, h.Key, tc.errPart)
					}
					continue
				}
				if r.Headers[i].Key != h.Key || !bytes.Equal(r.Headers[i].Value, h.Value) {
					t.Errorf("%s: header %d = %s: %q, want %s: %q", tc.key, i, r.Headers[i].Key, r.Headers[i].Value, h.Key, h.Value)
				}
			}
		}
	})
}

func TestHandleCatalog(t *testing.T) {
	c := newCluster(t, 3)
	h := newHandler(t, c, Catalog{"CATALOG-0001": {UnitPrice: 1200, MaxQty: 100}, "CATALOG-0002": {UnitPrice: 99, MaxQty: 3}})

	ok := pending(1)
	unknown := pending(2)
	unknown.ProductID = "CATALOG-9999"
	price := pending(3)
	price.UnitPrice, price.TotalPrice = 1100, 5500
	tooMany := pending(4)
	tooMany.Qty, tooMany.TotalPrice = 101, 121200
	other := pending(5)
	other.ProductID, other.Qty, other.UnitPrice, other.TotalPrice = "CATALOG-0002", 3, 99, 297

	res, err := h.Handle(context.Background(), kafkaEvent(encode(t, ok), encode(t, unknown), encode(t, price), encode(t, tooMany), encode(t, other)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Result{Records: 5, Accepted: 2, Rejected: 3}); res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	accepted := byKey(readTopic(t, c, testTopics.Orders))
	for _, o := range []order.Order{ok, other} {
		if accepted[o.OrderID] == nil {
			t.Errorf("order %s (%s) not accepted", o.OrderID, o.ProductID)
		}
	}
	rejected := byKey(readTopic(t, c, testTopics.Rejected))
	for id, want := range map[string]string{
		unknown.OrderID: `product_id: unknown product "CATALOG-9999"`,
		price.OrderID:   "unit_price: must be 1200 for CATALOG-0001",
		tooMany.OrderID: "qty: must be at most 100 for CATALOG-0001",
	} {
		r := rejected[id]
		if r == nil {
			t.Errorf("order %s not rejected", id)
			continue
		}
		if got := decodeOrder(t, r).Reason; got != want {
			t.Errorf("reason %q, want %q", got, want)
		}
	}
}

// TestHandleProduceFailure fails every produce request, as a broker that is down or
// rejects writes would: the invocation returns an error and nothing is written, so the
// trigger redelivers the batch; the redelivered batch then yields exactly the records a
// clean run yields.
func TestHandleProduceFailure(t *testing.T) {
	var inputs []in
	for i := range 30 {
		o := pending(i)
		if i%5 == 0 {
			o.TotalPrice++
		}
		inputs = append(inputs, encode(t, o))
	}
	inputs = append(inputs, in{key: []byte("poison"), value: []byte("{")})
	ev := kafkaEvent(inputs...)

	c := newCluster(t, 3)
	var failing atomic.Bool
	failing.Store(true)
	var refused atomic.Int64
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if failing.Load() {
			refused.Add(1)
			return nil, errors.New("broker refuses writes"), true
		}
		return nil, nil, false
	})
	h := newHandler(t, c, nil)
	h.MaxProduceWait = 2 * time.Second

	if _, err := h.Handle(context.Background(), ev); err == nil {
		t.Fatal("Handle returned nil while every produce failed")
	} else {
		t.Logf("first delivery: %v (%d produce requests refused)", err, refused.Load())
	}
	for _, topic := range []string{testTopics.Orders, testTopics.Rejected, testTopics.DLQ} {
		if n := len(readTopic(t, c, topic)); n != 0 {
			t.Errorf("%s has %d records after a failed invocation", topic, n)
		}
	}

	failing.Store(false)
	// The redelivery is a new invocation with its own deadline. It first waits for the
	// records the failed delivery left in flight, which kgo fails at its next retry.
	h.MaxProduceWait = 30 * time.Second
	res, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("redelivered batch: %v", err)
	}
	if want := (Result{Records: 31, Accepted: 24, Rejected: 6, DeadLettered: 1}); res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}

	clean := newCluster(t, 3)
	if _, err := newHandler(t, clean, nil).Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{testTopics.Orders, testTopics.Rejected, testTopics.DLQ} {
		got, want := readTopic(t, c, topic), readTopic(t, clean, topic)
		if len(got) != len(want) {
			t.Fatalf("%s: %d records after redelivery, a clean run has %d", topic, len(got), len(want))
		}
		for i := range want {
			if !sameRecord(got[i], want[i]) {
				t.Errorf("%s record %d differs from a clean run:\n got %s\nwant %s", topic, i, describe(got[i]), describe(want[i]))
			}
		}
	}
}

func sameRecord(a, b *kgo.Record) bool {
	return a.Partition == b.Partition && bytes.Equal(a.Key, b.Key) && bytes.Equal(a.Value, b.Value) &&
		a.Timestamp.Equal(b.Timestamp) && slices.EqualFunc(a.Headers, b.Headers, func(x, y kgo.RecordHeader) bool {
		return x.Key == y.Key && bytes.Equal(x.Value, y.Value)
	})
}

func describe(r *kgo.Record) string {
	return fmt.Sprintf("p%d key=%q value=%.80q headers=%v ts=%v", r.Partition, r.Key, r.Value, r.Headers, r.Timestamp.UnixMilli())
}

// TestArenaKeptForTheNextBatch: the arena of a batch whose outputs were all
// acknowledged serves the next one, holding nothing of its batch; the outputs of batches
// that reuse it are a fresh handler's, byte for byte; and the arena of a batch that
// answered with records still in flight is never reused, since kgo may still read them.
func TestArenaKeptForTheNextBatch(t *testing.T) {
	mixed := func(from, n int) events.KafkaEvent {
		var inputs []in
		for i := from; i < from+n; i++ {
			o := pending(i)
			if i%4 == 1 {
				o.TotalPrice++
			}
			x := encode(t, o)
			if i%3 == 0 {
				x.headers = append(x.headers, kgo.RecordHeader{Key: trace.HeaderTraceparent, Value: fmt.Appendf(nil, "00-%032x-%016x-01", i, i)})
			}
			inputs = append(inputs, x)
		}
		return kafkaEvent(append(inputs, in{key: fmt.Appendf(nil, "poison-%d", from), value: []byte("{")})...)
	}
	// A small batch, a larger one (the arena grows) and a small one again.
	batches := []events.KafkaEvent{mixed(0, 12), mixed(100, 40), mixed(200, 5)}

	c := newCluster(t, 3)
	h := newHandler(t, c, nil)
	clean := newCluster(t, 3)
	for i, ev := range batches {
		if _, err := h.Handle(context.Background(), ev); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		a := h.spare.Load()
		if a == nil {
			t.Fatalf("batch %d: no arena kept", i)
		}
		if len(a.in)+len(a.out)+len(a.orders)+len(a.records)+len(a.headers) != 0 {
			t.Errorf("batch %d: the kept arena is not empty", i)
		}
		for j, r := range a.records[:cap(a.records)] {
			if r.Key != nil || r.Value != nil || r.Headers != nil || r.Context != nil {
				t.Fatalf("batch %d: kept record %d still points at its batch", i, j)
			}
		}
		for j, x := range a.headers[:cap(a.headers)] {
			if x.Key != "" || x.Value != nil {
				t.Fatalf("batch %d: kept header %d still points at its batch", i, j)
			}
		}
		if _, err := newHandler(t, clean, nil).Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, topic := range []string{testTopics.Orders, testTopics.Rejected, testTopics.DLQ} {
		got, want := readTopic(t, c, topic), readTopic(t, clean, topic)
		if len(got) != len(want) || len(want) == 0 {
			t.Fatalf("%s: %d records, fresh handlers wrote %d", topic, len(got), len(want))
		}
		for i := range want {
			if !sameRecord(got[i], want[i]) {
				t.Errorf("%s record %d differs from a fresh handler's:\n got %s\nwant %s", topic, i, describe(got[i]), describe(want[i]))
			}
		}
	}

	var failing atomic.Bool
	failing.Store(true)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if failing.Load() {
			return nil, errors.New("broker refuses writes"), true
		}
		return nil, nil, false
	})
	h.MaxProduceWait = time.Second
	if _, err := h.Handle(context.Background(), batches[0]); err == nil {
		t.Fatal("Handle returned nil while every produce failed")
	}
	if h.spare.Load() != nil {
		t.Fatal("the arena of a batch still in flight was kept for the next one")
	}
	failing.Store(false)
	h.MaxProduceWait = 30 * time.Second
	if _, err := h.Handle(context.Background(), batches[0]); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if h.spare.Load() == nil {
		t.Fatal("no arena kept after the redelivery succeeded")
	}
}

// TestHandleLargeBatch sends a batch of 10,000 records, the trigger's largest, and checks
// that every record is published exactly once. The time is logged, not asserted.
func TestHandleLargeBatch(t *testing.T) {
	testkit.Long(t, "10,000 records")
	const n = 10000
	inputs := make([]in, n)
	var wantAccepted, wantRejected, wantDLQ int
	for i := range inputs {
		switch {
		case i%100 == 99:
			inputs[i] = in{key: []byte(fmt.Sprintf("poison-%d", i)), value: []byte("not an envelope")}
			wantDLQ++
		case i%10 == 3:
			o := pending(i)
			o.Status = order.Rejected
			inputs[i] = encode(t, o)
			wantRejected++
		default:
			inputs[i] = encode(t, pending(i))
			wantAccepted++
		}
	}
	ev := kafkaEvent(inputs...)
	c := newCluster(t, 3)
	h := newHandler(t, c, nil)
	h.Log = discardLog
	start := time.Now()
	res, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records validated and acknowledged in %v", n, time.Since(start).Round(time.Millisecond))
	if want := (Result{Records: n, Accepted: wantAccepted, Rejected: wantRejected, DeadLettered: wantDLQ}); res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	for topic, want := range map[string]int{testTopics.Orders: wantAccepted, testTopics.Rejected: wantRejected, testTopics.DLQ: wantDLQ} {
		got := readTopic(t, c, topic)
		if len(got) != want {
			t.Errorf("%s: %d records, want %d", topic, len(got), want)
		}
		if keys := byKey(got); len(keys) != len(got) {
			t.Errorf("%s: %d distinct keys in %d records: a record was published twice", topic, len(keys), len(got))
		}
	}
}

// TestHandlePartitionOrder checks that records keep their order within a partition
// however the trigger's map lists partitions, and that outputs of one key keep the
// input order.
func TestHandlePartitionOrder(t *testing.T) {
	o := pending(7)
	first := encode(t, o)
	o.Qty, o.TotalPrice = 6, 7200
	second := encode(t, o)
	ev := kafkaEvent(first, encode(t, pending(8)), encode(t, pending(9)), second)
	got := batch(fromEvents(ev))
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if a.Partition > b.Partition || (a.Partition == b.Partition && a.Offset >= b.Offset) {
			t.Fatalf("batch order: p%d/%d before p%d/%d", a.Partition, a.Offset, b.Partition, b.Offset)
		}
	}
	c := newCluster(t, 3)
	if _, err := newHandler(t, c, nil).Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	var qtys []int32
	for _, r := range readTopic(t, c, testTopics.Orders) {
		if string(r.Key) == o.OrderID {
			qtys = append(qtys, decodeOrder(t, r).Qty)
		}
	}
	if !slices.Equal(qtys, []int32{5, 6}) {
		t.Errorf("quantities of %s in output order %v, want [5 6]", o.OrderID, qtys)
	}
}

func TestHandleEmptyBatch(t *testing.T) {
	res, err := newHandler(t, newCluster(t, 3), nil).Handle(context.Background(), events.KafkaEvent{})
	if err != nil || res != (Result{}) {
		t.Errorf("empty batch: %+v, %v", res, err)
	}
}

// BenchmarkBatch measures one 10,000-record batch (the trigger's largest): "handler" is
// Handle end to end, produce to kfake and acknowledgements included; "decode-only" is the
// baseline of decoding and checking the same records without producing anything.
func BenchmarkBatch(b *testing.B) {
	const n = 10000
	inputs := make([]in, n)
	for i := range inputs {
		o := pending(i)
		if i%10 == 3 {
			o.TotalPrice++
		}
		inputs[i] = encode(b, o)
	}
	// Each variant builds its own event, so that, as in Lambda, one event is live while
	// it runs: an event left over from another variant would add to its GC work. As in
	// Lambda, the handler gets the event as decodeEvent reads it from the trigger's JSON.
	event := func(traced bool) batchEvent {
		if !traced {
			return decoded(b, kafkaEvent(inputs...))
		}
		// As Lambda runs it: every record carries its trace (kept on the outputs and
		// named in the log lines).
		withTraces := make([]in, n)
		for i, x := range inputs {
			withTraces[i] = withTrace(x)
		}
		return decoded(b, kafkaEvent(withTraces...))
	}
	b.Run("handler", func(b *testing.B) {
		benchHandle(b, event(false))
	})
	// As Lambda runs it (traced records, and the invocation writes its metrics
	// document), against the same without, taking turns batch by batch on one broker:
	// run apart, the two read up to ±15 % from one run to the next, more than the 5 %
	// tracing may cost.
	b.Run("observed-in-turns", func(b *testing.B) {
		benchTurns(b, metrics.New("ordersync", "validate-order", io.Discard), event(false), event(true))
	})
	b.Run("decode-only", func(b *testing.B) {
		h := &Handler{Topics: testTopics}
		ev := event(false)
		// Its buffer is kept from one batch to the next, as the handler keeps its arena.
		a := &arena{}
		decode := func() {
			rs := batch(ev)
			var size int
			for _, r := range rs {
				size += base64.StdEncoding.DecodedLen(len(r.Key)) + base64.StdEncoding.DecodedLen(len(r.Value))
			}
			if cap(a.in) < size {
				a.in = make([]byte, 0, size)
			}
			a.in = a.in[:0]
			for _, r := range rs {
				key, err := a.decodeBase64(r.Key)
				if err != nil {
					b.Fatal(err)
				}
				value, err := a.decodeBase64(r.Value)
				if err != nil {
					b.Fatal(err)
				}
				var o order.Order
				if err := order.Codec.Decode(value, &o); err != nil {
					b.Fatal(err)
				}
				h.check(&o, key)
			}
		}
		decode() // the warm-up, as in benchHandle
		for b.Loop() {
			decode()
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
	})
}

// benchHandler returns a handler logging nowhere and the broker it produces to, which
// keeps no log once its retention is applied: a real broker keeps its log on its own
// disk, but kfake would keep every record of the run on this process's heap, where each
// GC cycle marks it, and a run's last batches would pay for its first ones. The
// benchmarks apply it between batches, outside the timer.
func benchHandler(b *testing.B) (*kfake.Cluster, *Handler) {
	c := newCluster(b, 3, kfake.BrokerConfigs(map[string]string{"log.retention.bytes": "0", "log.segment.bytes": "1048576"}))
	h := newHandler(b, c, nil)
	h.Log = discardLog
	return c, h
}

// benchHandle measures Handle on ev (see benchHandler). One batch first, unmeasured,
// warms up the producer (metadata, producer id, connections) and the heap, which would
// otherwise fall on whichever variant runs first.
func benchHandle(b *testing.B, ev batchEvent) {
	c, h := benchHandler(b)
	handle := func() {
		if _, err := h.handleEvent(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
	n := ev.len()
	handle()
	c.ApplyRetention()
	for b.Loop() {
		handle()
		b.StopTimer()
		c.ApplyRetention()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
}

// benchTurns measures Handle on plain, without metrics, and on observed, with m, taking
// turns batch by batch (the order swapped every round) on one handler and one broker
// (see benchHandler), after one unmeasured batch of each. It reports observed's
// records/s, and plain's as plain-records/s. Both events are live throughout, so each
// variant's GC work counts the other's event alike.
func benchTurns(b *testing.B, m *metrics.Recorder, plain, observed batchEvent) {
	c, h := benchHandler(b)
	n := plain.len()
	var took [2]time.Duration // plain, observed
	handle := func(i int) {
		ev := plain
		h.Metrics = nil
		if i == 1 {
			ev, h.Metrics = observed, m
		}
		start := time.Now()
		if _, err := h.handleEvent(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
		took[i] += time.Since(start)
		b.StopTimer()
		c.ApplyRetention()
		b.StartTimer()
	}
	handle(0)
	handle(1)
	took = [2]time.Duration{}
	for round := 0; b.Loop(); round++ {
		first := round % 2
		handle(first)
		handle(1 - first)
	}
	b.ReportMetric(float64(b.N*n)/took[0].Seconds(), "plain-records/s")
	b.ReportMetric(float64(b.N*n)/took[1].Seconds(), "records/s")
}

// TestHandleLogsRequestID checks that every log line of an invocation is JSON carrying
// the Lambda request id, and the order id where there is one.
func TestHandleLogsRequestID(t *testing.T) {
	var buf bytes.Buffer
	h := newHandler(t, newCluster(t, 3), nil)
	h.Log = slog.New(logging.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bad := pending(2)
	bad.Qty = 0
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1234"})
	if _, err := h.Handle(ctx, kafkaEvent(encode(t, pending(1)), encode(t, bad), in{key: []byte("x"), value: []byte("?")})); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d log lines, want 4 (accepted, rejected, dead-lettered, batch):\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", l)
		}
		if m["request_id"] != "req-1234" {
			t.Errorf("log line without request_id: %s", l)
		}
		if (m["msg"] == "order accepted" || m["msg"] == "order rejected") && m["order_id"] == nil {
			t.Errorf("log line without order_id: %s", l)
		}
	}
}

// TestRecordLinesWrittenTogether: a batch's per-record lines reach the output in one
// write, before the batch's own line, not one write each (a write costs ≈ 3 µs on the
// pipe Lambda reads a function's output from).
func TestRecordLinesWrittenTogether(t *testing.T) {
	var w testkit.Buffer
	h := newHandler(t, newCluster(t, 3), nil)
	h.Log = slog.New(logging.NewJSONHandler(&w, nil))
	bad := pending(2)
	bad.Qty = 0
	if _, err := h.Handle(context.Background(), kafkaEvent(encode(t, pending(1)), encode(t, bad), in{key: []byte("x"), value: []byte("?")})); err != nil {
		t.Fatal(err)
	}
	calls := w.Writes()
	if len(calls) != 2 || strings.Count(calls[0], "\n") != 3 || !strings.Contains(calls[1], `"batch published"`) {
		t.Fatalf("writes: %q", calls)
	}
	for _, msg := range []string{"order accepted", "order rejected", "record dead-lettered"} {
		if !strings.Contains(calls[0], msg) {
			t.Errorf("no %q line in %q", msg, calls[0])
		}
	}
}

// TestOneLinePerOrder: at the default level every input record gets exactly one log line
// carrying its order id (the record key): accepted, rejected with the reason, or
// dead-lettered with the error, so that one grep for an order id finds its outcome.
func TestOneLinePerOrder(t *testing.T) {
	var buf bytes.Buffer
	h := newHandler(t, newCluster(t, 3), nil)
	h.Log = slog.New(logging.NewJSONHandler(&buf, nil))
	bad := pending(2)
	bad.Qty = 0
	dead := pending(3).OrderID
	want := map[string]string{pending(1).OrderID: "order accepted", bad.OrderID: "order rejected", dead: "record dead-lettered"}
	if _, err := h.Handle(context.Background(), kafkaEvent(encode(t, pending(1)), encode(t, bad),
		in{key: []byte(dead), value: []byte("not an envelope")})); err != nil {
		t.Fatal(err)
	}
	for id, msg := range want {
		var found []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if strings.Contains(l, id) {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatal(err)
				}
				found = append(found, m)
			}
		}
		if len(found) != 1 {
			t.Errorf("order %s: %d log lines, want 1:\n%s", id, len(found), buf.String())
			continue
		}
		m := found[0]
		if m["msg"] != msg || m["order_id"] != id {
			t.Errorf("order %s: line %v, want %q with order_id", id, m, msg)
		}
		if msg == "order rejected" && m["reason"] == nil || msg == "record dead-lettered" && m["error"] == nil {
			t.Errorf("order %s: line %v says no reason", id, m)
		}
	}
}

// TestFirstBatchHandedOverWhole: until a batch has been published, the handler routes a
// whole batch before it hands any record to the producer, so that the client asks for
// all the batch's topics in one metadata request; later batches are handed over record
// by record, as they are routed. Each routed record writes one log line, so the lines
// written before the first produce tell which way a batch went. (slog's own handler, on
// which logging.Hold does nothing: its lines are written as the records are routed.)
func TestFirstBatchHandedOverWhole(t *testing.T) {
	h := newHandler(t, newCluster(t, 1), nil)
	var lines atomic.Int64
	h.Log = slog.New(slog.NewJSONHandler(lineCounter{&lines}, nil))
	p := &firstProduce{Producer: h.Producer, lines: &lines}
	h.Producer = p
	bad := pending(2)
	bad.Qty = 0
	ev := kafkaEvent(encode(t, pending(1)), encode(t, bad), in{key: []byte("x"), value: []byte("?")})
	for i, want := range []int64{3, 1} {
		lines.Store(0)
		p.at.Store(-1)
		if _, err := h.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		if got := p.at.Load(); got != want {
			t.Errorf("batch %d: first record handed over after %d routed, want %d", i+1, got, want)
		}
	}
}

// lineCounter counts the lines written to it.
type lineCounter struct{ n *atomic.Int64 }

func (c lineCounter) Write(p []byte) (int, error) {
	c.n.Add(int64(bytes.Count(p, []byte("\n"))))
	return len(p), nil
}

// firstProduce notes how many log lines were written when the first record came.
type firstProduce struct {
	Producer
	lines *atomic.Int64
	at    atomic.Int64 // -1 until the first record
}

func (p *firstProduce) Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	p.at.CompareAndSwap(-1, p.lines.Load())
	p.Producer.Produce(ctx, r, promise)
}

// TestRecordHeaders: the trigger's headers become Kafka headers in order, whatever their
// names (the names of one object with several in sorted order, as from a map), with the
// bytes as delivered; the arena's copy leaves ordersync-event out, has room for one
// more header, and setting the output's ordersync-event there leaves the event's
// headers as they were.
func TestRecordHeaders(t *testing.T) {
	payload := `{"records":{"t-0":[{"headers":[` +
		`{"X-Amzn-Trace-Id":[82,111,111,116]},{"ordersync-event":[79,114,100,101,114,83,117,98,109,105,116,116,101,100]},` +
		`{"traceparent":[48,48,45]},{"b":[50],"a":[49]},{"traceParent":[-1]}]}]}}`
	ev, err := decodeEvent([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	var viaJSON events.KafkaEvent
	if err := json.Unmarshal([]byte(payload), &viaJSON); err != nil {
		t.Fatal(err)
	}
	want := []kgo.RecordHeader{
		{Key: trace.HeaderXRay, Value: []byte("Root")},
		{Key: order.HeaderEvent, Value: []byte(order.EventSubmitted)},
		{Key: trace.HeaderTraceparent, Value: []byte("00-")},
		{Key: "a", Value: []byte("1")},
		{Key: "b", Value: []byte("2")},
		{Key: "traceParent", Value: []byte{0xff}},
	}
	same := func(x, y kgo.RecordHeader) bool { return x.Key == y.Key && bytes.Equal(x.Value, y.Value) }
	for name, got := range map[string][]kgo.RecordHeader{"decodeEvent": ev.records["t-0"][0].Headers, "fromEvents": fromEvents(viaJSON).records["t-0"][0].Headers} {
		if !slices.EqualFunc(got, want, same) {
			t.Errorf("%s: headers %v, want %v", name, got, want)
		}
	}
	in := ev.records["t-0"][0].Headers
	a := &arena{headers: make([]kgo.RecordHeader, 0, 7)}
	got, tp := a.recordHeaders(in)
	if cap(got) != len(want) {
		t.Errorf("capacity %d, want room for one more header (%d)", cap(got), len(want))
	}
	if tp.Key != trace.HeaderTraceparent || tp.Value.String() != "00-" {
		t.Errorf("trace attribute %v, want the traceparent header's", tp)
	}
	out := append(got, kgo.RecordHeader{Key: order.HeaderEvent, Value: eventAccepted})
	wantOut := append(slices.Delete(slices.Clone(want), 1, 2), kgo.RecordHeader{Key: order.HeaderEvent, Value: eventAccepted})
	if !slices.EqualFunc(out, wantOut, same) {
		t.Errorf("output headers %v, want %v", out, wantOut)
	}
	if !slices.EqualFunc(in, want, same) {
		t.Errorf("setting the output's header changed the event's: %v", in)
	}
	if _, tp := a.recordHeaders(want[3:5]); tp.Key != "" {
		t.Errorf("headers without a traceparent: trace attribute %v, want none", tp)
	}
}
