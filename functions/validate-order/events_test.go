package main

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/order"
)

// TestSampleEvents runs every validate-order sample of events/ (the files `sam local
// invoke ValidateOrderFunction -e` takes) through the handler against a Kafka cluster:
// each batch holds one order to accept, one to reject and one record to dead-letter.
func TestSampleEvents(t *testing.T) {
	// The MSK and the self-managed sample.
	testkit.JSONFiles(t, "../../events/validate-order*.json", 2, func(t *testing.T, _ string, ev *events.KafkaEvent) {
		if ev.EventSource != "aws:kafka" && ev.EventSource != "SelfManagedKafka" {
			t.Errorf("eventSource %q, want aws:kafka or SelfManagedKafka", ev.EventSource)
		}
		c := newCluster(t, 3)
		res, err := newHandler(t, c, nil).Handle(context.Background(), *ev)
		if err != nil {
			t.Fatal(err)
		}
		if want := (Result{Records: 3, Accepted: 1, Rejected: 1, DeadLettered: 1}); res != want {
			t.Errorf("result %+v, want %+v", res, want)
		}
		for _, r := range readTopic(t, c, testTopics.Orders) {
			if o := decodeOrder(t, r); o.Status != order.Accepted || string(r.Key) != o.OrderID {
				t.Errorf("accepted record %s: %+v", r.Key, o)
			}
		}
		for _, r := range readTopic(t, c, testTopics.Rejected) {
			if o := decodeOrder(t, r); o.Status != order.Rejected || o.Reason == "" {
				t.Errorf("rejected record %s: %+v", r.Key, o)
			}
		}
		for _, r := range readTopic(t, c, testTopics.DLQ) {
			if _, ok := header(r, order.HeaderError); !ok {
				t.Errorf("dead-letter record %s has no %s header", r.Key, order.HeaderError)
			}
		}
	})
}
