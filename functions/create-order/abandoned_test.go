package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/order"
)

// TestAbandonedRecord holds the broker's answer to a request's record past the produce
// deadline: the request gets its 503 at the deadline; when the broker does answer, the
// late record is stored with its own key and bytes, and the next request is answered for
// its own record only.
func TestAbandonedRecord(t *testing.T) {
	s := newStack(t)
	if resp, err := s.h.Handle(lambdaCtx(t, "req-warm", 10*time.Second), post("user-warm", designBody)); err != nil || resp.StatusCode != 201 {
		t.Fatalf("warm-up: %d %s %v", resp.StatusCode, resp.Body, err)
	}

	release := make(chan struct{})
	var hold sync.Once
	s.cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		hold.Do(func() { s.cluster.SleepControl(func() { <-release }) }) // only the first produce request
		return nil, nil, false                                           // then kfake handles it as usual
	})

	const lateKey = "late-1"
	late := post("user-late", `{"productId": "CATALOG-0007", "qty": 3, "unitPrice": 250}`, "idempotency-key", lateKey)
	resp, err := s.h.Handle(lambdaCtx(t, "req-late", kafka.ProduceMargin+time.Second), late)
	if err != nil {
		t.Fatal(err)
	}
	checkProblem(t, resp, 503, nil)
	close(release)

	// The late record was sent before the deadline, so the broker stores it as it was sent.
	for deadline := time.Now().Add(10 * time.Second); s.endOffset(t) < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the late record was not stored after its release")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The next request gets an answer of its own. While kgo recovers from the record it
	// gave up on at the head of the partition, it may fail the records behind it: a 503,
	// never a 201 without the record.
	next := post("user-next", `{"productId": "CATALOG-0009", "qty": 9, "unitPrice": 100}`)
	var nextID string
	for try := 0; nextID == ""; try++ {
		resp, err := s.h.Handle(lambdaCtx(t, "req-next", 10*time.Second), next)
		switch {
		case err != nil:
			t.Fatal(err)
		case resp.StatusCode == 201:
			nextID = decodeCreated(t, resp).OrderID
		case resp.StatusCode != 503 || try == 100:
			t.Fatalf("next request, try %d: %d %s\n%s", try, resp.StatusCode, resp.Body, s.logs)
		default:
			time.Sleep(50 * time.Millisecond)
		}
	}

	lateID := order.ID("user-late", lateKey)
	found := map[string]order.Order{}
	for _, r := range s.records(t) {
		var o order.Order
		if err := order.Codec.Decode(r.Value, &o); err != nil {
			t.Fatalf("record %s: %v", r.Key, err)
		}
		if string(r.Key) != o.OrderID {
			t.Errorf("record key %s carries order %s", r.Key, o.OrderID)
		}
		found[o.OrderID] = o
	}
	if o, ok := found[lateID]; !ok || o.UserID != "user-late" || o.ProductID != "CATALOG-0007" || o.Qty != 3 || o.TotalPrice != 750 {
		t.Errorf("late record %s = %+v (stored: %v), want its own order", lateID, o, ok)
	}
	if o, ok := found[nextID]; !ok || o.UserID != "user-next" || o.Qty != 9 || o.TotalPrice != 900 {
		t.Errorf("next record %s = %+v (stored: %v)", nextID, o, ok)
	}
}

// TestErrAbandoned: the abandoned record's error is a deadline, as the 503's logs and
// errors.Is checks expect, and is found again once wrapped.
func TestErrAbandoned(t *testing.T) {
	wrapped := fmt.Errorf("produce: %w", errAbandoned)
	if !errors.Is(wrapped, errAbandoned) || !errors.Is(wrapped, context.DeadlineExceeded) {
		t.Errorf("%v is not errAbandoned and context.DeadlineExceeded", wrapped)
	}
	if got, want := errAbandoned.Error(), "record not acknowledged before the deadline: context deadline exceeded"; got != want {
		t.Errorf("errAbandoned = %q, want %q", got, want)
	}
}
