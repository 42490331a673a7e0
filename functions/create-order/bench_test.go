package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/metrics"
)

// acked is a producer whose every record is acknowledged at once: BenchmarkHandle
// measures the handler's own work per request, without the produce round trip.
type acked struct{}

func (acked) Produce(_ context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	promise(r, nil)
}

// benchRequest is a typical request: JSON body, an Idempotency-Key, API Gateway's
// usual headers.
func benchRequest() (context.Context, func()) {
	ctx, cancel := context.WithTimeout(lambdacontext.NewContext(context.Background(),
		&lambdacontext.LambdaContext{AwsRequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"}), time.Minute)
	return ctx, cancel
}

// benchCreated measures h answering req, which must be 201 every time.
func benchCreated(b *testing.B, ctx context.Context, h *Handler, req events.APIGatewayV2HTTPRequest) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := h.Handle(ctx, req)
		if err != nil || resp.StatusCode != 201 {
			b.Fatalf("%d %s %v", resp.StatusCode, resp.Body, err)
		}
	}
}

func BenchmarkHandle(b *testing.B) {
	h := NewHandler(acked{}, "orders.submitted", slog.New(logging.NewJSONHandler(io.Discard, nil)))
	req := post("user-1", designBody, "idempotency-key", "5f1c9a1e-2b7d-4c1e-9a3f-0d8e7b6a5c4d",
		"accept", "*/*", "host", "abc123.execute-api.eu-west-1.amazonaws.com", "user-agent", "curl/8.5.0",
		"x-amzn-trace-id", "Root=1-5f84c7a9-6c5e1a5c2d4b7e0f3a9c8d7e", "x-forwarded-for", "203.0.113.7",
		"x-forwarded-port", "443", "x-forwarded-proto", "https", "content-length", "58")
	ctx, cancel := benchRequest()
	defer cancel()
	benchCreated(b, ctx, h, req)
}

// BenchmarkHandleObserved is BenchmarkHandle as Lambda runs it: the invocation has a
// trace (written on the record in both forms) and each invocation writes its metrics
// document. Its difference from BenchmarkHandle is what metrics and tracing cost.
func BenchmarkHandleObserved(b *testing.B) {
	h := NewHandler(acked{}, "orders.submitted", slog.New(logging.NewJSONHandler(io.Discard, nil)))
	h.Metrics = metrics.New("ordersync", "create-order", io.Discard)
	req := post("user-1", designBody, "idempotency-key", "5f1c9a1e-2b7d-4c1e-9a3f-0d8e7b6a5c4d")
	ctx, cancel := benchRequest()
	defer cancel()
	ctx = context.WithValue(ctx, "x-amzn-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	benchCreated(b, ctx, h, req)
}

// BenchmarkHandleKfake compares a whole request against kfake with the ProduceSync of
// the same record alone.
//
// The broker keeps no log: a real broker keeps it on its own disk, but kfake would keep
// every record of the run on this process's heap, where each GC cycle marks it, and the
// sub-benchmark that ran second would pay for the first one's records. The log is
// dropped every 1,000 requests, outside the timer.
func BenchmarkHandleKfake(b *testing.B) {
	s := newStack(b, kfake.BrokerConfigs(map[string]string{"log.retention.bytes": "0", "log.segment.bytes": "1048576"}))
	s.h.log = slog.New(logging.NewJSONHandler(io.Discard, nil))
	ctx, cancel := benchRequest()
	defer cancel()
	req := post("user-1", designBody, "idempotency-key", "5f1c9a1e-2b7d-4c1e-9a3f-0d8e7b6a5c4d")
	value, err := os.ReadFile(filepath.Join("testdata", "order-submitted.golden.json"))
	if err != nil {
		b.Fatal(err)
	}
	handle := func(b *testing.B) {
		if resp, err := s.h.Handle(ctx, req); err != nil || resp.StatusCode != 201 {
			b.Fatalf("%d %s %v", resp.StatusCode, resp.Body, err)
		}
	}
	produceSync := func(b *testing.B) {
		r := &kgo.Record{Topic: s.topic, Key: []byte(fixedID), Value: value, Headers: eventSubmitted}
		if err := s.client.ProduceSync(ctx, r).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
	// Warm up both ways before either is measured: metadata and the producer id, and the
	// broker's log and the heap past their first growth, which would otherwise fall on
	// whichever sub-benchmark runs first (≈ 8 % of a request here).
	for range 2000 {
		handle(b)
		produceSync(b)
	}
	s.cluster.ApplyRetention()
	measure := func(b *testing.B, once func(*testing.B)) {
		b.ReportAllocs()
		for i := 1; b.Loop(); i++ {
			once(b)
			if i%1000 == 0 {
				b.StopTimer()
				s.cluster.ApplyRetention()
				b.StartTimer()
			}
		}
	}
	b.Run("handler", func(b *testing.B) { measure(b, handle) })
	b.Run("ProduceSync", func(b *testing.B) { measure(b, produceSync) })
}
