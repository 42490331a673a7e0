package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/metrics"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/trace"
)

// The trace context of the invocation, or of a W3C traceparent request header when the
// runtime gave none, reaches the record on a real broker in both forms.
func TestTraceHeaders(t *testing.T) {
	const xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	const w3c = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	s := newStack(t)
	for _, tc := range []struct {
		name        string
		ctx         context.Context
		header      string
		traceparent string
		xray        string
	}{
		{"the runtime's trace", context.WithValue(lambdaCtx(t, "r1", 10*time.Second), "x-amzn-trace-id", xray), "",
			"00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01", xray},
		{"the runtime's trace wins over the request's", context.WithValue(lambdaCtx(t, "r2", 10*time.Second), "x-amzn-trace-id", xray), w3c,
			"00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01", xray},
		{"a traceparent request header", lambdaCtx(t, "r3", 10*time.Second), w3c,
			w3c, "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1"},
		{"no trace", lambdaCtx(t, "r4", 10*time.Second), "", "", ""},
		{"a malformed traceparent is ignored", lambdaCtx(t, "r5", 10*time.Second), "00-zz-00-01", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := post("user-1", designBody)
			if tc.header != "" {
				req.Headers["traceparent"] = tc.header
			}
			resp, err := s.h.Handle(tc.ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			id := decodeCreated(t, resp).OrderID
			var got map[string]string
			for _, r := range s.records(t) {
				if string(r.Key) == id {
					got = map[string]string{}
					for _, h := range r.Headers {
						got[h.Key] = string(h.Value)
					}
				}
			}
			if got == nil {
				t.Fatalf("record %s not on the topic", id)
			}
			if got[order.HeaderEvent] != order.EventSubmitted || got[trace.HeaderTraceparent] != tc.traceparent || got[trace.HeaderXRay] != tc.xray {
				t.Fatalf("headers %v; want traceparent %q, X-Ray %q", got, tc.traceparent, tc.xray)
			}
		})
	}
}

// Each invocation writes one EMF document with its answer counted.
func TestMetricsDocument(t *testing.T) {
	s := newStack(t)
	var out bytes.Buffer
	s.h.Metrics = metrics.New("ordersync", "create-order", &out)
	ctx := lambdaCtx(t, "m", 10*time.Second)
	decodeCreated(t, must(s.h.Handle(ctx, post("user-1", designBody))))
	if r := must(s.h.Handle(ctx, post("user-1", `{"productId":"x","qty":0,"unitPrice":1}`))); r.StatusCode != 422 {
		t.Fatalf("status %d", r.StatusCode)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d documents for 2 invocations:\n%s", len(lines), out.String())
	}
	var first, second map[string]any
	if json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[1]), &second) != nil {
		t.Fatalf("not JSON:\n%s", out.String())
	}
	if first["Requests"] != 1.0 || first["OrdersCreated"] != 1.0 || first["ProduceLatency"] == nil || first["Service"] != "create-order" {
		t.Errorf("201 document = %v", first)
	}
	if second["Requests"] != 1.0 || second["Refused422"] != 1.0 || second["OrdersCreated"] != nil {
		t.Errorf("422 document = %v", second)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
