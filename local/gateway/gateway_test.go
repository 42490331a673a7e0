package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/local/gateway"
)

// invokerFunc lets a test stand in a Go function for a Lambda function.
type invokerFunc func(ctx context.Context, payload []byte) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, p []byte) ([]byte, error) { return f(ctx, p) }

func TestEventGolden(t *testing.T) {
	body := `{"productId":"CATALOG-0001","qty":5,"unitPrice":1200}`
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:3000/order-service/u%2D1/orders?x=1&y=2&x=3", strings.NewReader(body))
	r.RemoteAddr = "192.0.2.7:53211"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "curl/8.5.0")
	r.Header.Add("X-Multi", "a")
	r.Header.Add("X-Multi", "b")
	r.Header.Set("Idempotency-Key", "k-1")
	r.Header.Set("Cookie", "session=abc; theme=dark")
	at := time.Date(2026, 11, 22, 4, 5, 6, 789e6, time.UTC)
	ev := gateway.Event(r, "POST /order-service/{userId}/orders", map[string]string{"userId": "u-1"}, []byte(body), "JxW2XhKoIAMEVrA=", at)
	// The golden file is what aws-lambda-go reads back.
	var back events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(testkit.GoldenJSON(t, filepath.Join("testdata", "request.golden.json"), ev), &back); err != nil {
		t.Fatal(err)
	}
	if back.PathParameters["userId"] != "u-1" || back.Headers["x-multi"] != "a,b" || back.QueryStringParameters["x"] != "1,3" ||
		len(back.Cookies) != 2 || back.Headers["cookie"] != "" || back.IsBase64Encoded {
		t.Errorf("round trip: %+v", back)
	}
}

func TestEventBinaryBody(t *testing.T) {
	r := httptest.NewRequest(http.MethodPut, "/files/a/b.png", bytes.NewReader([]byte{0x89, 'P', 'N', 'G'}))
	r.Header.Set("Content-Type", "image/png")
	ev := gateway.Event(r, "$default", nil, []byte{0x89, 'P', 'N', 'G'}, "id", time.Unix(0, 0))
	if !ev.IsBase64Encoded || ev.Body != "iVBORw==" {
		t.Errorf("binary body: base64 %v, body %q", ev.IsBase64Encoded, ev.Body)
	}
}

func TestMatch(t *testing.T) {
	fn := invokerFunc(func(context.Context, []byte) ([]byte, error) { return nil, nil })
	g, err := gateway.New([]gateway.Route{
		{Method: "POST", Path: "/order-service/{userId}/orders", Name: "create", Function: fn},
		{Method: "GET", Path: "/order-service/{userId}/orders/{orderId}", Name: "get", Function: fn},
		{Method: "ANY", Path: "/order-service/health", Name: "health-any", Function: fn},
		{Method: "GET", Path: "/order-service/health", Name: "health-get", Function: fn},
		{Method: "ANY", Path: "/files/{proxy+}", Name: "files", Function: fn},
		{Method: "ANY", Path: "$default", Name: "default", Function: fn},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		want               string
		params             map[string]string
	}{
		{"param", "POST", "/order-service/u-1/orders", "create", map[string]string{"userId": "u-1"}},
		{"escaped param", "POST", "/order-service/u%201/orders", "create", map[string]string{"userId": "u 1"}},
		{"two params", "GET", "/order-service/u-1/orders/o-9", "get", map[string]string{"userId": "u-1", "orderId": "o-9"}},
		{"literal beats param", "GET", "/order-service/health", "health-get", nil},
		{"method beats ANY", "DELETE", "/order-service/health", "health-any", nil},
		{"greedy", "GET", "/files/a/b/c.txt", "files", map[string]string{"proxy": "a/b/c.txt"}},
		{"wrong method falls to default", "GET", "/order-service/u-1/orders", "default", nil},
		{"unknown path falls to default", "GET", "/nope", "default", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, _, params, ok := g.Match(tt.method, tt.path)
			if !ok || rt.Name != tt.want {
				t.Fatalf("matched %q (%v), want %q", rt.Name, ok, tt.want)
			}
			if len(params) != len(tt.params) {
				t.Fatalf("params %v, want %v", params, tt.params)
			}
			for k, v := range tt.params {
				if params[k] != v {
					t.Errorf("param %s = %q, want %q", k, params[k], v)
				}
			}
		})
	}
}

func TestServe(t *testing.T) {
	var lastEvent events.APIGatewayV2HTTPRequest
	reply := func(out string, err error) gateway.Invoker {
		return invokerFunc(func(_ context.Context, p []byte) ([]byte, error) {
			if jerr := json.Unmarshal(p, &lastEvent); jerr != nil {
				t.Errorf("event: %v", jerr)
			}
			return []byte(out), err
		})
	}
	errTimeout := errors.New("timed out")
	tests := []struct {
		name       string
		fn         gateway.Invoker
		path       string
		body       string
		wantStatus int
		wantBody   string
		wantHeader map[string][]string
	}{
		{
			name: "structured response",
			fn: reply(`{"statusCode":201,"headers":{"Location":"/o/1","Content-Type":"application/json"},
				"multiValueHeaders":{"X-Many":["a","b"]},"cookies":["a=1","b=2; HttpOnly"],"body":"{\"ok\":true}"}`, nil),
			path: "/orders", body: `{}`, wantStatus: 201, wantBody: `{"ok":true}`,
			wantHeader: map[string][]string{"Location": {"/o/1"}, "X-Many": {"a", "b"}, "Set-Cookie": {"a=1", "b=2; HttpOnly"}},
		},
		{
			name: "base64 body", fn: reply(`{"statusCode":200,"isBase64Encoded":true,"body":"aGVsbG8="}`, nil),
			path: "/orders", wantStatus: 200, wantBody: "hello",
		},
		{
			name: "bare JSON is a 200", fn: reply(`{"hello":"world"}`, nil),
			path: "/orders", wantStatus: 200, wantBody: `{"hello":"world"}`,
			wantHeader: map[string][]string{"Content-Type": {"application/json"}},
		},
		{name: "function error", fn: reply("", errors.New("boom")), path: "/orders", wantStatus: 502, wantBody: `{"message":"Internal Server Error"}`},
		{name: "timeout", fn: reply("", errTimeout), path: "/orders", wantStatus: 503, wantBody: `{"message":"Service Unavailable"}`},
		{name: "malformed response", fn: reply(`not json`, nil), path: "/orders", wantStatus: 502},
		{name: "bad status", fn: reply(`{"statusCode":42}`, nil), path: "/orders", wantStatus: 502},
		{name: "unknown route", fn: reply(`{}`, nil), path: "/elsewhere", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "body too large", fn: reply(`{}`, nil), path: "/orders", body: strings.Repeat("x", 65), wantStatus: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := gateway.New([]gateway.Route{{Method: "POST", Path: "/orders", Name: "fn", Function: tt.fn}},
				gateway.WithMaxBody(64), gateway.WithTimeoutError(func(err error) bool { return errors.Is(err, errTimeout) }))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(g)
			defer srv.Close()
			resp, err := http.Post(srv.URL+tt.path, "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d (body %s)", resp.StatusCode, tt.wantStatus, b)
			}
			if tt.wantBody != "" && string(b) != tt.wantBody {
				t.Errorf("body %q, want %q", b, tt.wantBody)
			}
			for k, want := range tt.wantHeader {
				if got := resp.Header.Values(k); strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if resp.Header.Get("Apigw-Requestid") == "" {
				t.Error("no Apigw-Requestid header")
			}
		})
	}
	if lastEvent.Version != "2.0" || lastEvent.RequestContext.HTTP.Method != "POST" {
		t.Errorf("last event %+v", lastEvent)
	}
}
