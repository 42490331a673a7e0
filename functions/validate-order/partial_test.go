package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/trace"
)

// TestPartialBatchResponse: with ReportBatchItemFailures, a batch whose outputs to one
// refusing partition fail is answered with, per input partition, its first record whose
// output failed, and no error. Delivering again what AWS would (each named partition
// from its named offset on) leaves every output topic as a clean run leaves it: nothing
// lost, and a record stored twice is the same record.
func TestPartialBatchResponse(t *testing.T) {
	testkit.Long(t, "fault test")
	const n = 90
	ev := faultBatch(t, n)
	c, f, h := refusingPartition(t)
	h.ReportBatchItemFailures = true
	res, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("Handle = %v; a partial batch response answers without an error", err)
	}
	if res.BatchItemFailures == nil || len(*res.BatchItemFailures) == 0 {
		t.Fatal("no batch item failures while a partition refused writes")
	}
	body, _ := json.Marshal(res)
	t.Logf("answer: %s", body)

	// The retry AWS makes: each named partition from the lowest named offset on.
	retry := events.KafkaEvent{EventSource: ev.EventSource, Records: map[string][]events.KafkaRecord{}}
	named := map[string]bool{}
	for _, fail := range *res.BatchItemFailures {
		id := fail.ItemIdentifier
		if named[id.Partition] {
			t.Fatalf("partition %s named twice", id.Partition)
		}
		named[id.Partition] = true
		recs, ok := ev.Records[id.Partition]
		if !ok {
			t.Fatalf("named partition %s is not in the batch", id.Partition)
		}
		found := false
		for _, r := range recs {
			if r.Offset == id.Offset {
				found = true
			}
			if r.Offset >= id.Offset {
				retry.Records[id.Partition] = append(retry.Records[id.Partition], r)
			}
		}
		if !found {
			t.Fatalf("offset %d is not in partition %s", id.Offset, id.Partition)
		}
	}
	if got := len(batch(fromEvents(retry))); got >= n {
		t.Fatalf("the retry carries %d of %d records; a partial answer should skip what was done", got, n)
	}
	f.Remove()
	// The retry first waits for what the failed delivery left in flight (see settle).
	h.MaxProduceWait = 30 * time.Second
	res, err = h.Handle(context.Background(), retry)
	if err != nil || res.BatchItemFailures != nil {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	sameAsClean(t, c.ListenAddrs(), ev)
}

// Without ReportBatchItemFailures the answer is never a partial one: the trigger would
// take it for success.
func TestNoPartialAnswerUnlessAsked(t *testing.T) {
	testkit.Long(t, "fault test")
	ev := faultBatch(t, 30)
	c := newCluster(t, 3)
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: testTopics.Orders, Err: kerr.NotEnoughReplicas, Count: -1})
	res, err := faultHandler(t, c.ListenAddrs(), time.Second).Handle(context.Background(), ev)
	if err == nil || res.BatchItemFailures != nil {
		t.Fatalf("Handle = %+v, %v; want an error and no batch item failures", res, err)
	}
}

// A record's trace context reaches both the log line about its order and every output
// it becomes, in both forms, unchanged (the trigger hands headers over as bytes).
func TestTraceCarried(t *testing.T) {
	const tp = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
	const xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	traceHeaders := []kgo.RecordHeader{{Key: trace.HeaderTraceparent, Value: []byte(tp)}, {Key: trace.HeaderXRay, Value: []byte(xray)}}
	var buf bytes.Buffer
	c := newCluster(t, 3)
	h := newHandler(t, c, nil)
	h.Log = slog.New(logging.NewJSONHandler(&buf, nil))
	bad := pending(2)
	bad.Qty = 0
	good, rej := encode(t, pending(1)), encode(t, bad)
	good.headers, rej.headers = traceHeaders, traceHeaders
	dead := in{key: []byte(pending(3).OrderID), value: []byte("not an envelope"), headers: traceHeaders}
	if _, err := h.Handle(context.Background(), kafkaEvent(good, rej, dead)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	withTrace := 0
	for _, l := range lines {
		if strings.Contains(l, `"order_id"`) {
			if !strings.Contains(l, `"traceparent":"`+tp+`"`) {
				t.Errorf("line about an order without its trace: %s", l)
			}
			withTrace++
		}
	}
	if withTrace != 3 {
		t.Errorf("%d lines about orders, want 3:\n%s", withTrace, buf.String())
	}
	for _, topic := range []string{h.Topics.Orders, h.Topics.Rejected, h.Topics.DLQ} {
		for _, r := range readTopicAt(t, c.ListenAddrs(), topic) {
			got := map[string]string{}
			for _, hd := range r.Headers {
				got[hd.Key] = string(hd.Value)
			}
			if got[trace.HeaderTraceparent] != tp || got[trace.HeaderXRay] != xray {
				t.Errorf("%s record %s: headers %v lack the trace", topic, r.Key, got)
			}
		}
	}
}
