package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/order"
)

var (
	fixedNow = time.Date(2026, 11, 22, 4, 0, 0, 123_456_789, time.UTC)
	fixedID  = "01a20169-2e7b-7c3a-9d2e-5f0a1b2c3d4e" // a UUIDv7 of fixedNow
)

var topicSeq atomic.Int64

// stack is a handler wired to a fresh in-process kfake cluster with its own topic.
type stack struct {
	cluster *kfake.Cluster
	client  *kgo.Client
	topic   string
	h       *Handler
	logs    *bytes.Buffer
}

func newStack(t testing.TB, opts ...kfake.Opt) *stack {
	t.Helper()
	topic := "orders.submitted.test-" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()) + "-" + strconv.FormatInt(topicSeq.Add(1), 10)
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(1, topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cfg, err := kafka.ConfigFromEnv(func(k string) string {
		if k == "KAFKA_BROKERS" {
			return strings.Join(c.ListenAddrs(), ",")
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kafka.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	logs := new(bytes.Buffer)
	h := NewHandler(cl, topic, slog.New(logging.NewJSONHandler(logs, nil)))
	return &stack{cluster: c, client: cl, topic: topic, h: h, logs: logs}
}

// pinned makes the handler's clock and ids fixed.
func (s *stack) pinned() *stack {
	s.h.Now = func() time.Time { return fixedNow }
	s.h.NewID = func(string, string) string { return fixedID }
	return s
}

// records reads everything on the stack's topic.
func (s *stack) records(t *testing.T) []*kgo.Record {
	t.Helper()
	return testkit.ReadTopic(t, s.cluster.ListenAddrs(), s.topic)
}

// endOffset is the number of records on the stack's one-partition topic.
func (s *stack) endOffset(t *testing.T) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).ListEndOffsets(ctx, s.topic)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := offs.Lookup(s.topic, 0)
	if !ok || o.Err != nil {
		t.Fatalf("end offset of %s: %v %v", s.topic, ok, o.Err)
	}
	return o.Offset
}

// post is a POST /order-service/{user}/orders as API Gateway sends it.
func post(user, body string, headers ...string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "POST /order-service/{userId}/orders",
		RawPath:        "/order-service/" + user + "/orders",
		Headers:        map[string]string{"content-type": "application/json"},
		PathParameters: map[string]string{"userId": user},
		Body:           body,
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			delete(req.Headers, headers[i])
			continue
		}
		req.Headers[headers[i]] = headers[i+1]
	}
	return req
}

func withSub(req events.APIGatewayV2HTTPRequest, sub string) events.APIGatewayV2HTTPRequest {
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": sub, "iss": "https://issuer"}},
	}
	return req
}

// lambdaCtx is a context like the Lambda runtime's: a request id and a deadline.
func lambdaCtx(t *testing.T, requestID string, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: requestID}), d)
	t.Cleanup(cancel)
	return ctx
}

const designBody = `{"productId": "CATALOG-0001", "qty": 5, "unitPrice": 1200}`

type createdBody struct {
	OrderID    string `json:"orderId"`
	UserID     string `json:"userId"`
	ProductID  string `json:"productId"`
	Qty        int32  `json:"qty"`
	UnitPrice  int64  `json:"unitPrice"`
	TotalPrice int64  `json:"totalPrice"`
	Status     string `json:"status"`
	CreatedAt  string `json:"createdAt"`
}

func decodeCreated(t *testing.T, resp events.APIGatewayV2HTTPResponse) createdBody {
	t.Helper()
	if resp.StatusCode != 201 {
		t.Fatalf("status %d, body %s; want 201", resp.StatusCode, resp.Body)
	}
	var b createdBody
	dec := json.NewDecoder(strings.NewReader(resp.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("201 body %s: %v", resp.Body, err)
	}
	return b
}

// TestCreateOrder sends docs/http-api.md's example through kfake, reads the record back and
// pins its value in the golden file.
func TestCreateOrder(t *testing.T) {
	s := newStack(t).pinned()
	resp, err := s.h.Handle(lambdaCtx(t, "req-1", 5*time.Second), post("user-1", designBody))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("201 %s", resp.Body)
	got := decodeCreated(t, resp)
	want := createdBody{OrderID: fixedID, UserID: "user-1", ProductID: "CATALOG-0001", Qty: 5, UnitPrice: 1200,
		TotalPrice: 6000, Status: "PENDING", CreatedAt: "2026-11-22T04:00:00.123Z"}
	if got != want {
		t.Errorf("body %+v\nwant %+v", got, want)
	}
	if resp.Headers["Content-Type"] != "application/json" || resp.Headers["Location"] != "/order-service/user-1/orders/"+fixedID {
		t.Errorf("headers %v", resp.Headers)
	}

	rs := s.records(t)
	if len(rs) != 1 {
		t.Fatalf("%d records, want 1", len(rs))
	}
	r := rs[0]
	if string(r.Key) != fixedID {
		t.Errorf("key %q, want the order id %q", r.Key, fixedID)
	}
	if len(r.Headers) != 1 || r.Headers[0].Key != "ordersync-event" || string(r.Headers[0].Value) != "OrderSubmitted" {
		t.Errorf("headers %+v, want ordersync-event=OrderSubmitted", r.Headers)
	}
	var o order.Order
	if err := order.Codec.Decode(r.Value, &o); err != nil {
		t.Fatal(err)
	}
	wantOrder := order.Order{OrderID: fixedID, UserID: "user-1", ProductID: "CATALOG-0001", Qty: 5, UnitPrice: 1200,
		TotalPrice: 6000, Status: order.Pending, CreatedAt: time.Date(2026, 11, 22, 4, 0, 0, 123_000_000, time.UTC)}
	if o != wantOrder {
		t.Errorf("record %+v\nwant   %+v", o, wantOrder)
	}
	if errs := o.Check(); errs != nil {
		t.Errorf("record breaks rules: %v", errs)
	}
	golden(t, "order-submitted.golden.json", r.Value)
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", name), got)
}

// TestGoldenIsJsonConverterEnvelope checks the golden file on its own terms: one JSON
// object with exactly a schema and a payload, the payload holding every schema field in
// order, as JsonConverter with schemas.enable=true writes and reads it.
func TestGoldenIsJsonConverterEnvelope(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "order-submitted.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var env struct {
		Schema struct {
			Type     string `json:"type"`
			Optional bool   `json:"optional"`
			Name     string `json:"name"`
			Fields   []struct {
				Type     string `json:"type"`
				Optional bool   `json:"optional"`
				Field    string `json:"field"`
				Name     string `json:"name"`
				Version  int    `json:"version"`
			} `json:"fields"`
		} `json:"schema"`
		Payload map[string]any `json:"payload"`
	}
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		t.Fatal(err)
	}
	if env.Schema.Type != "struct" || env.Schema.Name != "orders" || env.Schema.Optional {
		t.Errorf("schema %+v", env.Schema)
	}
	want := []string{"order_id string", "user_id string", "product_id string", "qty int32", "unit_price int64",
		"total_price int64", "status string", "created_at int64", "reason string"}
	var got []string
	for _, f := range env.Schema.Fields {
		got = append(got, f.Field+" "+f.Type)
		if _, ok := env.Payload[f.Field]; !ok {
			t.Errorf("payload lacks %s", f.Field)
		}
		if f.Optional != (f.Field == "reason") {
			t.Errorf("%s optional = %v", f.Field, f.Optional)
		}
		if f.Field == "created_at" && (f.Name != "org.apache.kafka.connect.data.Timestamp" || f.Version != 1) {
			t.Errorf("created_at is not a Timestamp: %+v", f)
		}
	}
	if !reflect.DeepEqual(got, want) || len(env.Payload) != len(want) {
		t.Errorf("fields %v, payload %v", got, env.Payload)
	}
	if !bytes.HasPrefix(b, []byte(`{"schema":{"type":"struct","fields":[`)) || bytes.ContainsAny(b, " \n") {
		t.Errorf("not JsonConverter's compact form: %s", b)
	}
}

func TestIdempotencyKey(t *testing.T) {
	s := newStack(t)
	ctx := lambdaCtx(t, "req", 10*time.Second)
	send := func(user, key string) string {
		t.Helper()
		var hs []string
		if key != "" {
			hs = []string{"idempotency-key", key}
		}
		resp, err := s.h.Handle(ctx, post(user, designBody, hs...))
		if err != nil {
			t.Fatal(err)
		}
		return decodeCreated(t, resp).OrderID
	}
	a1, a2 := send("user-1", "retry-me"), send("user-1", "retry-me")
	if a1 != a2 {
		t.Errorf("same user and key gave %s and %s", a1, a2)
	}
	if a1 != order.ID("user-1", "retry-me") {
		t.Errorf("id %s is not order.ID(user, key)", a1)
	}
	if b := send("user-2", "retry-me"); b == a1 {
		t.Errorf("two users with the same key share id %s", b)
	}
	if c := send("user-1", "other"); c == a1 {
		t.Errorf("two keys of one user share id %s", c)
	}
	n1, n2 := send("user-1", ""), send("user-1", "")
	if n1 == n2 || n1 == a1 {
		t.Errorf("requests without a key gave ids %s, %s", n1, n2)
	}
	// A header name in another case is the same header.
	resp, err := s.h.Handle(ctx, post("user-1", designBody, "Idempotency-Key", "retry-me"))
	if err != nil {
		t.Fatal(err)
	}
	if id := decodeCreated(t, resp).OrderID; id != a1 {
		t.Errorf("Idempotency-Key in canonical case gave %s, want %s", id, a1)
	}

	rs := s.records(t)
	var keys []string
	for _, r := range rs {
		keys = append(keys, string(r.Key))
	}
	if want := []string{a1, a1, keys[2], keys[3], n1, n2, a1}; !reflect.DeepEqual(keys, want) {
		t.Errorf("record keys %v, want %v", keys, want)
	}
}

type problemBody struct {
	Type   string             `json:"type"`
	Title  string             `json:"title"`
	Status int                `json:"status"`
	Detail string             `json:"detail"`
	Errors []order.FieldError `json:"errors"`
}

// checkProblem checks an RFC 9457 answer with the given status and 422 errors.
func checkProblem(t *testing.T, resp events.APIGatewayV2HTTPResponse, status int, errs []order.FieldError) problemBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d (%s), want %d", resp.StatusCode, resp.Body, status)
	}
	if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
		t.Errorf("Content-Type %q", ct)
	}
	var p problemBody
	dec := json.NewDecoder(strings.NewReader(resp.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem %s: %v", resp.Body, err)
	}
	if p.Status != status || p.Type == "" || p.Title == "" || p.Detail == "" {
		t.Errorf("problem %+v", p)
	}
	if !reflect.DeepEqual(p.Errors, errs) {
		t.Errorf("errors %q\nwant   %q", p.Errors, errs)
	}
	if status == 422 && !strings.Contains(resp.Body, `"errors":[{"field":`) {
		t.Errorf("422 body without errors[{field,message}]: %s", resp.Body)
	}
	if (status == 503) != (resp.Headers["Retry-After"] != "") {
		t.Errorf("status %d with Retry-After %q", status, resp.Headers["Retry-After"])
	}
	return p
}

// TestRefused covers every 4xx answer; none of them produces a record.
func TestRefused(t *testing.T) {
	s := newStack(t)
	ctx := lambdaCtx(t, "req", 10*time.Second)
	fe := func(kv ...string) []order.FieldError {
		var errs []order.FieldError
		for i := 0; i < len(kv); i += 2 {
			errs = append(errs, order.FieldError{Field: kv[i], Message: kv[i+1]})
		}
		return errs
	}
	const (
		qtyRange   = "must be an integer between 1 and 10000"
		priceRange = "must be an integer between 1 and 1000000000"
		nameChars  = "must contain only letters A-Z a-z, digits 0-9, '_' and '-'"
	)
	big := `{"productId": "P", "qty": 1, "unitPrice": 1, "pad": "` + strings.Repeat("x", MaxBody) + `"}`
	b64 := func(s string) events.APIGatewayV2HTTPRequest {
		r := post("user-1", base64.StdEncoding.EncodeToString([]byte(s)))
		r.IsBase64Encoded = true
		return r
	}
	tests := []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		errs   []order.FieldError
	}{
		{"400 empty body", post("user-1", ""), 400, nil},
		{"400 empty base64 body", b64(""), 400, nil},
		{"400 blank body", post("user-1", " \n"), 400, nil},
		{"400 malformed JSON", post("user-1", `{"productId": "P",`), 400, nil},
		{"400 trailing garbage", post("user-1", designBody+"x"), 400, nil},
		{"400 array", post("user-1", `[`+designBody+`]`), 400, nil},
		{"400 duplicate member", post("user-1", `{"productId": "P", "qty": 1, "unitPrice": 1, "qty": 9}`), 400, nil},
		{"400 duplicate escaped member", post("user-1", `{"productId": "P", "qty": 1, "unitPrice": 1, "q\u0074y": 1}`), 400, nil},
		{"400 duplicate nested member", post("user-1", `{"productId": "P", "qty": 1, "unitPrice": 1, "meta": {"a": 1, "a": 2}}`), 400, nil},
		{"400 invalid UTF-8", post("user-1", "{\"productId\": \"P\xff\", \"qty\": 1, \"unitPrice\": 1}"), 400, nil},
		{"400 bad base64", func() events.APIGatewayV2HTTPRequest {
			r := post("user-1", "not base64!")
			r.IsBase64Encoded = true
			return r
		}(), 400, nil},
		{"403 sub differs", withSub(post("user-1", designBody), "someone-else"), 403, nil},
		{"413 body", post("user-1", big), 413, nil},
		{"413 before parsing", post("user-1", "{"+strings.Repeat(" ", MaxBody)), 413, nil},
		{"413 base64 body", b64(big), 413, nil},
		{"413 base64 body one byte over", b64(exactBody(MaxBody + 1)), 413, nil},
		{"413 base64 body two bytes over", b64(exactBody(MaxBody + 2)), 413, nil},
		{"413 body one byte over", post("user-1", exactBody(MaxBody+1)), 413, nil},
		{"413 base64 body, huge", b64(strings.Repeat(" ", 4*MaxBody)), 413, nil},
		{"415 text/plain", post("user-1", designBody, "content-type", "text/plain"), 415, nil},
		{"415 form", post("user-1", designBody, "content-type", "application/x-www-form-urlencoded"), 415, nil},
		{"415 missing", post("user-1", designBody, "content-type", ""), 415, nil},
		{"415 json-seq", post("user-1", designBody, "content-type", "application/json-seq"), 415, nil},
		{"415 bare +json", post("user-1", designBody, "content-type", "application/+json"), 415, nil},
		{"415 text/json", post("user-1", designBody, "content-type", "text/json"), 415, nil},
		{"422 every field", post("bad user", `{"productId": "", "qty": 0, "unitPrice": 1000000001}`), 422,
			fe("userId", nameChars, "productId", "is required", "qty", qtyRange, "unitPrice", priceRange)},
		{"422 missing fields", post("user-1", `{}`), 422, fe("productId", "is required", "qty", "is required", "unitPrice", "is required")},
		{"422 JWT sub breaks the userId rule", withSub(post("auth0|5f1c", designBody), "auth0|5f1c"), 422, fe("userId", nameChars)},
		{"422 long user", post(strings.Repeat("u", 65), designBody), 422, fe("userId", "must be at most 64 characters")},
		{"422 long product", post("user-1", `{"productId": "`+strings.Repeat("p", 65)+`", "qty": 1, "unitPrice": 1}`), 422,
			fe("productId", "must be at most 64 characters")},
		{"422 product chars", post("user-1", `{"productId": "CATALOG 0001", "qty": 1, "unitPrice": 1}`), 422, fe("productId", nameChars)},
		{"422 qty too big", post("user-1", `{"productId": "P", "qty": 10001, "unitPrice": 1}`), 422, fe("qty", qtyRange)},
		{"422 qty negative", post("user-1", `{"productId": "P", "qty": -3, "unitPrice": 1}`), 422, fe("qty", qtyRange)},
		{"422 qty overflow", post("user-1", `{"productId": "P", "qty": 9223372036854775808, "unitPrice": 1}`), 422, fe("qty", qtyRange)},
		{"422 qty fraction", post("user-1", `{"productId": "P", "qty": 2.5, "unitPrice": 1}`), 422, fe("qty", "must be an integer")},
		{"422 quantity out of range", post("user-1", `{"productId": "P", "quantity": 0, "unitPrice": 1}`), 422, fe("quantity", qtyRange)},
		{"422 qty and quantity differ", post("user-1", `{"productId": "P", "qty": 1, "quantity": 2, "unitPrice": 1}`), 422,
			fe("quantity", "is an alias of qty and must not differ from it")},
		{"422 unit price zero", post("user-1", `{"productId": "P", "qty": 1, "unitPrice": 0}`), 422, fe("unitPrice", priceRange)},
		{"422 unit price string", post("user-1", `{"productId": "P", "qty": 1, "unitPrice": "1"}`), 422, fe("unitPrice", "must be an integer")},
		{"422 product number", post("user-1", `{"productId": 1, "qty": 1, "unitPrice": 1}`), 422, fe("productId", "must be a string")},
		{"422 idempotency key too long", post("user-1", designBody, "idempotency-key", strings.Repeat("k", 256)), 422,
			fe("Idempotency-Key", "must be 1-255 visible ASCII characters")},
		{"422 idempotency key with space", post("user-1", designBody, "idempotency-key", "a b"), 422,
			fe("Idempotency-Key", "must be 1-255 visible ASCII characters")},
		{"422 rules and key together", post("user-1", `{"productId": "P", "qty": 0, "unitPrice": 1}`, "idempotency-key", "é"), 422,
			fe("qty", qtyRange, "Idempotency-Key", "must be 1-255 visible ASCII characters")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := s.h.Handle(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			checkProblem(t, resp, tt.status, tt.errs)
		})
	}
	if n := s.endOffset(t); n != 0 {
		t.Errorf("%d records produced by refused requests", n)
	}
}

// exactBody is a valid order padded with spaces to n bytes.
func exactBody(n int) string {
	b := `{"productId": "P", "qty": 1, "unitPrice": 1}`
	return b + strings.Repeat(" ", n-len(b))
}

// TestAccepted covers the bodies and headers that are fine although unusual.
func TestAccepted(t *testing.T) {
	s := newStack(t)
	ctx := lambdaCtx(t, "req", 10*time.Second)
	exact := exactBody(MaxBody)
	tests := []struct {
		name string
		req  events.APIGatewayV2HTTPRequest
	}{
		{"charset parameter", post("user-1", designBody, "content-type", "application/json; charset=utf-8")},
		{"upper case media type", post("user-1", designBody, "content-type", "Application/JSON")},
		{"+json media type", post("user-1", designBody, "content-type", "application/vnd.ordersync.order+json; version=1")},
		{"canonical header name", post("user-1", designBody, "content-type", "", "Content-Type", "application/json")},
		{"base64 body", func() events.APIGatewayV2HTTPRequest {
			r := post("user-1", base64.StdEncoding.EncodeToString([]byte(designBody)))
			r.IsBase64Encoded = true
			return r
		}()},
		{"quantity alias", post("user-1", `{"productId": "CATALOG-0001", "quantity": 5, "unitPrice": 1200}`)},
		{"client total ignored", post("user-1", `{"productId": "CATALOG-0001", "qty": 5, "unitPrice": 1200, "totalPrice": 1}`)},
		{"exactly 64 KiB", post("user-1", exact)},
		{"exactly 64 KiB, base64", func() events.APIGatewayV2HTTPRequest {
			r := post("user-1", base64.StdEncoding.EncodeToString([]byte(exact)))
			r.IsBase64Encoded = true
			return r
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := s.h.Handle(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			b := decodeCreated(t, resp)
			if b.Qty == 5 && b.TotalPrice != 6000 {
				t.Errorf("total %d, want 6000", b.TotalPrice)
			}
		})
	}
	if n := s.endOffset(t); n != int64(len(tests)) {
		t.Errorf("%d records for %d accepted requests", n, len(tests))
	}
}

// TestBrokerUnreachable: the cluster is gone, so nothing is acknowledged: 503 with
// Retry-After, never 201.
func TestBrokerUnreachable(t *testing.T) {
	s := newStack(t)
	s.cluster.Close()
	resp, err := s.h.Handle(lambdaCtx(t, "req-down", 2*time.Second), post("user-1", designBody))
	if err != nil {
		t.Fatal(err)
	}
	checkProblem(t, resp, 503, nil)
	if !strings.Contains(s.logs.String(), `"request_id":"req-down"`) {
		t.Errorf("503 not logged with the request id: %s", s.logs)
	}
}

// TestProduceFaults makes kfake fail every produce request and checks the answer is a
// 503 with Retry-After (or a 500 for a lasting error), never a 201, and that no record
// was stored.
func TestProduceFaults(t *testing.T) {
	tests := []struct {
		name   string
		fault  func(s *stack) func(kmsg.Request) (kmsg.Response, error, bool)
		status int
	}{
		{"connection closed", func(s *stack) func(kmsg.Request) (kmsg.Response, error, bool) {
			return func(kmsg.Request) (kmsg.Response, error, bool) {
				s.cluster.KeepControl()
				return nil, errors.New("injected fault"), true
			}
		}, 503},
		{"request dropped", func(s *stack) func(kmsg.Request) (kmsg.Response, error, bool) {
			return func(kmsg.Request) (kmsg.Response, error, bool) {
				s.cluster.KeepControl()
				return nil, nil, true
			}
		}, 503},
		{"not enough replicas", func(s *stack) func(kmsg.Request) (kmsg.Response, error, bool) {
			return produceError(s, kerr.NotEnoughReplicas)
		}, 503},
		{"lasting error", func(s *stack) func(kmsg.Request) (kmsg.Response, error, bool) {
			return produceError(s, kerr.TopicAuthorizationFailed)
		}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t)
			s.cluster.ControlKey(int16(kmsg.Produce), tt.fault(s))
			start := time.Now()
			resp, err := s.h.Handle(lambdaCtx(t, "req-fault", 2*time.Second), post("user-1", designBody))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("answered %d after %v", resp.StatusCode, time.Since(start))
			p := checkProblem(t, resp, tt.status, nil)
			for _, leak := range []string{"TOPIC_AUTHORIZATION", "NOT_ENOUGH", "kafka", "context", "injected"} {
				if strings.Contains(strings.ToLower(resp.Body), strings.ToLower(leak)) {
					t.Errorf("answer leaks %q: %+v", leak, p)
				}
			}
			if n := s.endOffset(t); n != 0 {
				t.Errorf("%d records stored", n)
			}
		})
	}
}

// produceError answers every produce request with code for each partition.
func produceError(s *stack, code *kerr.Error) func(kmsg.Request) (kmsg.Response, error, bool) {
	return func(req kmsg.Request) (kmsg.Response, error, bool) {
		s.cluster.KeepControl()
		preq := req.(*kmsg.ProduceRequest)
		resp := preq.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range preq.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = code.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	}
}

func TestLogs(t *testing.T) {
	s := newStack(t).pinned()
	if _, err := s.h.Handle(lambdaCtx(t, "req-log", 5*time.Second), post("user-1", designBody)); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(s.logs.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", s.logs, err)
	}
	if line["request_id"] != "req-log" || line["order_id"] != fixedID || line["level"] != "INFO" {
		t.Errorf("log line %v", line)
	}
}

func TestJSONMediaType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json": true, "application/json;charset=utf-8": true, " application/json ; q=1": true,
		"APPLICATION/JSON": true, "application/problem+json": true, "application/a.b-c+JSON": true,
		"": false, "application/jsonx": false, "application/+json": false, "application/x+json/y": false,
		"text/plain": false, "application/xml": false, "application": false, "json": false,
	} {
		if got := jsonMediaType(ct); got != want {
			t.Errorf("jsonMediaType(%q) = %v, want %v", ct, got, want)
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "\x00\x1f\n\r\t", "é😀", "bad\xffutf8", "<&>"} {
		got := envelope.AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("envelope.AppendString(%q) = %s: %v", s, got, err)
			continue
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("envelope.AppendString(%q) reads back as %q, want %q", s, back, wantBack)
		}
	}
}

// TestRunConfigError: a bad setting stops start-up with one line naming the variable.
func TestRunConfigError(t *testing.T) {
	t.Setenv("KAFKA_AUTH", "foo")
	err := run(slog.New(slog.DiscardHandler))
	if err == nil || err.Error() != `KAFKA_AUTH: unknown mode "foo" (want none, scram-sha-512, msk-iam)` {
		t.Fatalf("run() = %v", err)
	}
}

// TestDocsShowRecord: docs/record-format.md shows the golden record byte for byte, and
// the README's configuration table documents every environment variable the
// configuration reads.
func TestDocsShowRecord(t *testing.T) {
	section := func(file, name string) string {
		data, err := os.ReadFile(filepath.Join("..", "..", file))
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(string(data), "<!-- section:"+name+" -->")
		body, _, ok2 := strings.Cut(rest, "<!-- /section:"+name+" -->")
		if !ok || !ok2 {
			t.Fatalf("%s has no section %s", file, name)
		}
		return body
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "order-submitted.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(section("docs/record-format.md", "order-record"), "\n"+string(golden)+"\n") {
		t.Error("docs/record-format.md's order-record section does not show testdata/order-submitted.golden.json verbatim")
	}
	config := section("README.md", "config")
	for _, v := range []string{"KAFKA_BROKERS", "KAFKA_AUTH", "KAFKA_TLS", "KAFKA_USERNAME", "KAFKA_PASSWORD",
		"ORDERS_SUBMITTED_TOPIC", "ORDERS_TOPIC", "ORDERS_REJECTED_TOPIC", "ORDERS_DLQ_TOPIC", "LOG_LEVEL"} {
		if !strings.Contains(config, "| `"+v+"` |") {
			t.Errorf("README's config section does not document %s", v)
		}
	}
}

// TestConcurrent sends requests from many goroutines at once (run with -race): every
// answer is a 201 for its own order and every record holds its own order.
func TestConcurrent(t *testing.T) {
	s := newStack(t)
	ctx := lambdaCtx(t, "req", 30*time.Second)
	const workers, each = 8, 10
	ids := make(chan string, workers*each)
	errs := make(chan error, workers*each)
	for w := range workers {
		go func() {
			for i := range each {
				user := "user-" + strconv.Itoa(w)
				body := `{"productId": "P-` + strconv.Itoa(i) + `", "qty": ` + strconv.Itoa(i+1) + `, "unitPrice": 7}`
				resp, err := s.h.Handle(ctx, post(user, body))
				var b createdBody
				if err == nil {
					err = json.Unmarshal([]byte(resp.Body), &b)
				}
				if err == nil && (resp.StatusCode != 201 || b.UserID != user || b.ProductID != "P-"+strconv.Itoa(i) || b.TotalPrice != int64(7*(i+1))) {
					err = errors.New(resp.Body)
				}
				errs <- err
				ids <- b.OrderID
			}
		}()
	}
	seen := map[string]bool{}
	for range workers * each {
		if err := <-errs; err != nil {
			t.Error(err)
		}
		seen[<-ids] = true
	}
	if len(seen) != workers*each {
		t.Fatalf("%d distinct ids for %d orders", len(seen), workers*each)
	}
	for _, r := range s.records(t) {
		var o order.Order
		if err := order.Codec.Decode(r.Value, &o); err != nil {
			t.Fatal(err)
		}
		if string(r.Key) != o.OrderID || !seen[o.OrderID] || o.TotalPrice != int64(o.Qty)*7 {
			t.Errorf("record key %s holds %+v", r.Key, o)
		}
		delete(seen, o.OrderID)
	}
	if len(seen) != 0 {
		t.Errorf("%d answered orders have no record", len(seen))
	}
}

// TestDuplicateMemberNamed: a body with a member twice is refused with 400 whose detail
// names the member, and produces nothing: parsers that keep the first or the last value
// would read different orders.
func TestDuplicateMemberNamed(t *testing.T) {
	s := newStack(t)
	resp, err := s.h.Handle(lambdaCtx(t, "req-dup", 10*time.Second),
		post("user-1", `{"productId": "P", "qty": 1, "unitPrice": 1, "qty": 10000}`))
	if err != nil {
		t.Fatal(err)
	}
	p := checkProblem(t, resp, 400, nil)
	if !strings.Contains(p.Detail, `"qty"`) {
		t.Errorf("detail %q does not name the member", p.Detail)
	}
	if n := s.endOffset(t); n != 0 {
		t.Errorf("%d records stored", n)
	}
}
