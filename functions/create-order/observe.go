package main

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/metrics"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/trace"
)

// Handle serves POST /order-service/{userId}/orders, then writes the invocation's one
// metrics document before the answer goes back (docs/operating.md lists the metrics).
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	resp, err := h.serve(ctx, req)
	h.count(resp.StatusCode)
	if ferr := h.Metrics.Flush(time.Now()); ferr != nil {
		h.log.Warn("write metrics", "error", ferr)
	}
	return resp, err
}

// count records one answer of status.
func (h *Handler) count(status int) {
	if h.Metrics == nil {
		return
	}
	h.Metrics.Add("Requests", metrics.Count, 1)
	switch {
	case status == 201:
		h.Metrics.Add("OrdersCreated", metrics.Count, 1)
	case status >= 400 && status < 500:
		h.Metrics.Add(refusedMetric(status), metrics.Count, 1)
	case status >= 500:
		h.Metrics.Add("Failed5xx", metrics.Count, 1)
		if status == 503 {
			h.Metrics.Add("Unavailable", metrics.Count, 1)
		}
	}
}

// refusedMetric is the metric of a refusal: Refused400, Refused403, ...
func refusedMetric(status int) string {
	switch status {
	case 400:
		return "Refused400"
	case 403:
		return "Refused403"
	case 413:
		return "Refused413"
	case 415:
		return "Refused415"
	case 422:
		return "Refused422"
	}
	return "Refused" + strconv.Itoa(status)
}

// submittedHeaders are the headers of a request's record: the event, and the trace
// context the request runs in, in both the W3C and the X-Ray form, so that every stage
// after it can name the same trace. Without a trace context it is the shared header
// slice, with no allocation.
func submittedHeaders(ctx context.Context, req *events.APIGatewayV2HTTPRequest) []kgo.RecordHeader {
	tc, ok := trace.FromLambda(ctx)
	if !ok {
		if tp, found := lookup(req.Headers, "traceparent"); found {
			tc, ok = trace.ParseTraceparent(tp)
		}
	}
	if !ok {
		return eventSubmitted
	}
	b := make([]byte, 0, 55+72)
	b = tc.AppendTraceparent(b)
	tp := b[:len(b):len(b)]
	b = tc.AppendXRay(b)
	return []kgo.RecordHeader{
		{Key: order.HeaderEvent, Value: eventSubmitted[0].Value},
		{Key: trace.HeaderTraceparent, Value: tp},
		{Key: trace.HeaderXRay, Value: b[len(tp):]},
	}
}
