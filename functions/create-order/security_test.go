package main

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// leaks are what an error body must never carry: stack traces, Go source positions,
// SQL, broker addresses and client internals.
var leaks = []*regexp.Regexp{
	regexp.MustCompile(`goroutine \d+`),
	regexp.MustCompile(`\.go:\d+`),
	regexp.MustCompile(`(?i)\bpanic\b|runtime\.`),
	regexp.MustCompile(`(?i)\b(select|insert|update|delete)\b.+\b(from|into|set)\b`),
	regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b`),                            // an IPv4 address
	regexp.MustCompile(`(?i)localhost|:9092|:9098|:9094`),                             // broker ports
	regexp.MustCompile(`(?i)kgo|franz|kafka|broker|dial|tcp`),                         // client internals
	regexp.MustCompile(`(?i)deadline exceeded|EOF|connection refused|[A-Z]+_[A-Z_]+`), // raw errors, Kafka error codes
}

func checkNoLeak(t *testing.T, what string, resp events.APIGatewayV2HTTPResponse, extra ...string) {
	t.Helper()
	for _, re := range leaks {
		if m := re.FindString(resp.Body); m != "" {
			t.Errorf("%s: answer %d leaks %q: %s", what, resp.StatusCode, m, resp.Body)
		}
	}
	for _, s := range extra {
		if s != "" && strings.Contains(resp.Body, s) {
			t.Errorf("%s: answer leaks %q: %s", what, s, resp.Body)
		}
	}
	for k, v := range resp.Headers {
		if k != "Content-Type" && k != "Retry-After" && k != "Location" {
			t.Errorf("%s: unexpected header %s: %s", what, k, v)
		}
	}
}

// TestErrorBodiesLeakNothing drives every kind of error answer — 4xx for bad requests,
// 503 for a broker that is down or failing, 500 for a lasting broker error — and checks
// that none carries a stack trace, SQL, a broker address or a raw client error.
func TestErrorBodiesLeakNothing(t *testing.T) {
	s := newStack(t)
	addr := strings.Join(s.cluster.ListenAddrs(), ",")
	ctx := lambdaCtx(t, "req-leak", 10*time.Second)
	for name, req := range map[string]events.APIGatewayV2HTTPRequest{
		"400":          post("user-1", `{"productId": "x'; SELECT * FROM orders --`),
		"403":          withSub(post("user-1", designBody), "user-2"),
		"413":          post("user-1", strings.Repeat(" ", MaxBody+1)),
		"415":          post("user-1", designBody, "content-type", "text/plain"),
		"422 with SQL": post("user-1", `{"productId": "x'; DELETE FROM orders WHERE 1=1 --", "qty": 1, "unitPrice": 1}`),
	} {
		resp, err := s.h.Handle(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		checkNoLeak(t, name, resp, addr)
	}

	faults := []struct {
		name   string
		status int
		fault  func(s *stack)
	}{
		{"lasting error", 500, func(s *stack) {
			s.cluster.ControlKey(int16(kmsg.Produce), produceError(s, kerr.TopicAuthorizationFailed))
		}},
		{"error naming the broker", 503, func(s *stack) {
			s.cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
				s.cluster.KeepControl()
				return nil, errors.New("dial tcp " + s.cluster.ListenAddrs()[0] + ": connection refused"), true
			})
		}},
		{"broker down", 503, func(s *stack) { s.cluster.Close() }},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			s := newStack(t)
			addr := s.cluster.ListenAddrs()[0]
			f.fault(s)
			resp, err := s.h.Handle(lambdaCtx(t, "req-leak", 2*time.Second), post("user-1", designBody))
			if err != nil {
				t.Fatal(err)
			}
			checkProblem(t, resp, f.status, nil)
			checkNoLeak(t, f.name, resp, addr, s.topic)
			if !strings.Contains(s.logs.String(), `"request_id":"req-leak"`) {
				t.Errorf("%s: the log, not the answer, must say why: %s", f.name, s.logs)
			}
		})
	}
}

// TestLeakPatternsFind proves the leak patterns are not vacuous.
func TestLeakPatternsFind(t *testing.T) {
	for _, body := range []string{
		"goroutine 7 [running]", "handler.go:42", "panic: boom", "SELECT order_id FROM orders",
		"127.0.0.1:9092", "b-1.x.kafka.eu-west-1.amazonaws.com:9098", "kgo: record timeout",
		"context deadline exceeded", "TOPIC_AUTHORIZATION_FAILED",
	} {
		found := false
		for _, re := range leaks {
			found = found || re.MatchString(body)
		}
		if !found {
			t.Errorf("no leak pattern finds %q", body)
		}
	}
}

// TestJWTSub: with a JWT authorizer the user is the sub claim; without one, the path
// user. A path user that is not exactly the sub — another case, extra whitespace, a
// look-alike character — gets 403; claims with no (or an empty) sub are refused rather
// than acting as the path user; claims in headers or from other authorizers are not
// trusted; no refused request produces a record.
func TestJWTSub(t *testing.T) {
	s := newStack(t)
	ctx := lambdaCtx(t, "req-jwt", 10*time.Second)
	lambdaAuth := post("user-1", designBody)
	lambdaAuth.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		Lambda: map[string]any{"sub": "user-2"},
	}
	tests := []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		user   string
	}{
		{"sub equals path", withSub(post("user-1", designBody), "user-1"), 201, "user-1"},
		{"sub differs from path", withSub(post("user-1", designBody), "user-2"), 403, ""},
		{"sub without path user", func() events.APIGatewayV2HTTPRequest {
			r := withSub(post("", designBody), "user-3")
			r.PathParameters, r.RawPath = nil, "/orders"
			return r
		}(), 201, "user-3"},
		{"no authorizer: path user", post("user-4", designBody), 201, "user-4"},
		{"path from raw path", func() events.APIGatewayV2HTTPRequest {
			r := post("user-5", designBody)
			r.PathParameters = nil
			return r
		}(), 201, "user-5"},
		// An authorizer's claims with no (or an empty) sub name nobody: refused, never
		// placed as the path user.
		{"empty sub: refused", withSub(post("user-6", designBody), ""), 403, ""},
		{"claims without sub: refused", func() events.APIGatewayV2HTTPRequest {
			r := withSub(post("user-7", designBody), "x")
			delete(r.RequestContext.Authorizer.JWT.Claims, "sub")
			return r
		}(), 403, ""},
		{"authorizer without claims: refused", func() events.APIGatewayV2HTTPRequest {
			r := post("user-8", designBody)
			r.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{}}
			return r
		}(), 403, ""},
		{"path in another case", withSub(post("USER-1", designBody), "user-1"), 403, ""},
		{"sub with trailing space", withSub(post("user-1", designBody), "user-1 "), 403, ""},
		{"look-alike letter", withSub(post("user-1", designBody), "usеr-1"), 403, ""}, // Cyrillic е
		{"sub prefix of the path", withSub(post("user-10", designBody), "user-1"), 403, ""},
		{"raw path of another user, no parameter", func() events.APIGatewayV2HTTPRequest {
			r := withSub(post("user-2", designBody), "user-1")
			r.PathParameters = nil
			return r
		}(), 403, ""},
		{"a sub header is not a claim", post("user-1", designBody, "x-jwt-sub", "user-2", "sub", "user-2"), 201, "user-1"},
		{"a Lambda authorizer's sub is not the JWT's", lambdaAuth, 201, "user-1"},
	}
	created := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := s.h.Handle(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.status != 201 {
				checkProblem(t, resp, tt.status, nil)
				return
			}
			b := decodeCreated(t, resp)
			if b.UserID != tt.user || resp.Headers["Location"] != "/order-service/"+tt.user+"/orders/"+b.OrderID {
				t.Errorf("user %q, location %q; want user %q", b.UserID, resp.Headers["Location"], tt.user)
			}
			created++
		})
	}
	if n := s.endOffset(t); n != int64(created) {
		t.Errorf("%d records for %d accepted requests", n, created)
	}
}
