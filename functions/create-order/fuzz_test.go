package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/order"
)

// documented are the statuses docs/http-api.md gives create-order when the record is
// acknowledged (503 and 500 need a failing broker, which this producer never is).
var documented = map[int]bool{201: true, 400: true, 403: true, 413: true, 415: true, 422: true}

// FuzzHandle runs the whole handler on arbitrary bodies, base64 flags, Content-Types,
// Idempotency-Keys and JWT claims. The answer has a documented status; a 201 comes
// with exactly one record, which decodes to a valid PENDING order equal to the 201
// body; every other answer is problem+json with a valid JSON body and produces nothing.
func FuzzHandle(f *testing.F) {
	f.Add([]byte(designBody), false, "application/json", "", false, "")
	f.Add([]byte(designBody), true, "application/json; charset=utf-8", "key-1", true, "user-1")
	f.Add([]byte(`{"productId":"P","qty":1,"unitPrice":1,"qty":2}`), false, "application/json", "", true, "")
	f.Add([]byte(`{"productId":"P","quantity":3,"unitPrice":9,"x":[{"a":"\ud83d\ude00"}]}`), false, "application/vnd.x+json", "k", false, "")
	f.Add([]byte("not json"), false, "text/plain", "é", true, "user 1")
	h := NewHandler(&testkit.MemProducer{}, "orders.submitted", slog.New(logging.NewJSONHandler(io.Discard, nil)))
	p := h.producer.(*testkit.MemProducer)
	h.Now = func() time.Time { return fixedNow }
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte, b64 bool, contentType, key string, claims bool, sub string) {
		req := post("user-1", string(body), "content-type", contentType, "idempotency-key", key)
		if b64 {
			req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
		if claims {
			req = withSub(req, sub)
		}
		resp, err := h.Handle(ctx, req)
		if err != nil {
			t.Fatalf("Handle returned an error: %v", err)
		}
		if !documented[resp.StatusCode] {
			t.Fatalf("status %d is not documented: %s", resp.StatusCode, resp.Body)
		}
		out := p.Take()
		if resp.StatusCode != 201 {
			checkFuzzProblem(t, resp, out)
			return
		}
		checkFuzzCreated(t, resp, out)
	})
}

func checkFuzzProblem(t *testing.T, resp events.APIGatewayV2HTTPResponse, out []*kgo.Record) {
	t.Helper()
	if len(out) != 0 {
		t.Fatalf("%d answered with %d records produced", resp.StatusCode, len(out))
	}
	var pb struct {
		Status int `json:"status"`
	}
	if resp.Headers["Content-Type"] != "application/problem+json" || !json.Valid([]byte(resp.Body)) ||
		json.Unmarshal([]byte(resp.Body), &pb) != nil || pb.Status != resp.StatusCode {
		t.Fatalf("%d answer is not problem+json: %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
}

func checkFuzzCreated(t *testing.T, resp events.APIGatewayV2HTTPResponse, out []*kgo.Record) {
	t.Helper()
	if len(out) != 1 {
		t.Fatalf("201 with %d records", len(out))
	}
	var o order.Order
	if err := order.Codec.Decode(out[0].Value, &o); err != nil {
		t.Fatalf("record %s does not decode: %v", out[0].Value, err)
	}
	if errs := o.Check(); errs != nil || o.Status != order.Pending || string(out[0].Key) != o.OrderID {
		t.Fatalf("201 for an invalid order %+v (key %q): %v", o, out[0].Key, errs)
	}
	var b createdBody
	if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
		t.Fatalf("201 body %s: %v", resp.Body, err)
	}
	want := createdBody{OrderID: o.OrderID, UserID: o.UserID, ProductID: o.ProductID, Qty: o.Qty, UnitPrice: o.UnitPrice,
		TotalPrice: o.TotalPrice, Status: string(o.Status), CreatedAt: o.CreatedAt.Format("2006-01-02T15:04:05.000Z07:00")}
	if b != want || !strings.HasSuffix(resp.Headers["Location"], "/orders/"+o.OrderID) {
		t.Fatalf("201 body %+v, record %+v", b, want)
	}
}
