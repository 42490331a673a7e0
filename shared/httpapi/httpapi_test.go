package httpapi

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/order"
)

func request(path string, claims map[string]string) *events.APIGatewayV2HTTPRequest {
	req := &events.APIGatewayV2HTTPRequest{RawPath: path}
	if claims != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return req
}

func TestUser(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     *events.APIGatewayV2HTTPRequest
		user    string
		refused bool
	}{
		{"no authorizer: the path user", request("/order-service/alice/orders", nil), "alice", false},
		{"sub matches the path", request("/order-service/alice/orders", map[string]string{"sub": "alice"}), "alice", false},
		{"sub differs from the path", request("/order-service/mallory/orders", map[string]string{"sub": "alice"}), "", true},
		{"claims without sub", request("/order-service/alice/orders", map[string]string{"scope": "orders"}), "", true},
		{"empty sub", request("/order-service/alice/orders", map[string]string{"sub": ""}), "", true},
		{"authorizer without claims", func() *events.APIGatewayV2HTTPRequest {
			r := request("/order-service/alice/orders", nil)
			r.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{}}
			return r
		}(), "", true},
		{"one order's path", request("/order-service/alice/orders/0190", nil), "alice", false},
		{"path parameter wins over the raw path", &events.APIGatewayV2HTTPRequest{RawPath: "/x", PathParameters: map[string]string{"userId": "bob"}}, "bob", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user, refused := User(tc.req)
			if user != tc.user || (refused != "") != tc.refused {
				t.Fatalf("User = %q, %q; want %q, refused %v", user, refused, tc.user, tc.refused)
			}
		})
	}
}

func TestProblemResponse(t *testing.T) {
	p := Problem{503, "urn:ordersync:problem:x", "X \"quoted\""}
	r := p.Response("detail ✓", []order.FieldError{{Field: "qty", Message: "must be 1–10000"}})
	if r.StatusCode != 503 || r.Headers["Retry-After"] != RetryAfter || r.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("response = %+v", r)
	}
	var got struct {
		Type, Title, Detail string
		Status              int
		Errors              []struct{ Field, Message string }
	}
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	if got.Type != p.Type || got.Title != p.Title || got.Status != 503 || got.Detail != "detail ✓" ||
		len(got.Errors) != 1 || got.Errors[0].Field != "qty" {
		t.Fatalf("body = %+v", got)
	}
	if r := Internal.Response("x", nil); r.Headers["Retry-After"] != "" {
		t.Fatalf("a 500 has Retry-After: %+v", r.Headers)
	}
}
