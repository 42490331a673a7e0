package ordersync

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/order"
)

// sampleTime is when every sample event happens.
var sampleTime = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

// sampleEvents returns every file of events/ by name. They are generated here, from the
// same codec the functions use, so they never drift from the record format.
func sampleEvents(t *testing.T) map[string]any {
	t.Helper()
	return map[string]any{
		"create-order.json":                httpEvent("user-42", `{"productId": "CATALOG-0001", "qty": 5, "unitPrice": 1200}`, nil, nil),
		"create-order-invalid.json":        httpEvent("user-42", `{"productId": "CATALOG 0001", "qty": 0, "unitPrice": 1200}`, nil, nil),
		"create-order-idempotent.json":     httpEvent("user-42", `{"productId": "CATALOG-0002", "quantity": 2, "unitPrice": 4999}`, map[string]string{"idempotency-key": "checkout-7f3a9c2e-0001"}, nil),
		"create-order-jwt.json":            jwtEvent(t, "user-42", `{"productId": "CATALOG-0001", "qty": 1, "unitPrice": 1200}`),
		"get-order.json":                   getEvent("user-42", order.ID("user-42", "checkout-7f3a9c2e-0001"), nil),
		"list-orders.json":                 getEvent("user-42", "", map[string]string{"limit": "20"}),
		"validate-order.json":              kafkaEvent(t, "aws:kafka"),
		"validate-order-self-managed.json": kafkaEvent(t, "SelfManagedKafka"),
	}
}

// httpEvent is what API Gateway (HTTP API, payload format 2.0) sends create-order.
func httpEvent(user, body string, headers, claims map[string]string) events.APIGatewayV2HTTPRequest {
	path := "/order-service/" + user + "/orders"
	h := map[string]string{
		"accept":            "application/json",
		"content-length":    fmt.Sprint(len(body)),
		"content-type":      "application/json",
		"host":              "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
		"user-agent":        "curl/8.5.0",
		"x-amzn-trace-id":   "Root=1-67406b78-3f6e1c2a9b8d7e6f5a4b3c2d",
		"x-forwarded-for":   "203.0.113.10",
		"x-forwarded-port":  "443",
		"x-forwarded-proto": "https",
	}
	for k, v := range headers {
		h[k] = v
	}
	req := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "POST /order-service/{userId}/orders",
		RawPath:        path,
		Headers:        h,
		PathParameters: map[string]string{"userId": user},
		Body:           body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     "POST /order-service/{userId}/orders",
			AccountID:    "111122223333",
			Stage:        "$default",
			RequestID:    "Cxk1Jg7pIAMEbJg=",
			APIID:        "a1b2c3d4e5",
			DomainName:   "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
			DomainPrefix: "a1b2c3d4e5",
			Time:         sampleTime.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    sampleTime.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: "POST", Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.10", UserAgent: "curl/8.5.0",
			},
		},
	}
	if claims != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: []string{}},
		}
	}
	return req
}

// getEvent is what API Gateway sends get-orders: GET one order when orderID is set, else
// GET the user's orders with query.
func getEvent(user, orderID string, query map[string]string) events.APIGatewayV2HTTPRequest {
	req := httpEvent(user, "", nil, nil)
	delete(req.Headers, "content-type")
	delete(req.Headers, "content-length")
	req.Body = ""
	route := "GET /order-service/{userId}/orders"
	if orderID != "" {
		route += "/{orderId}"
		req.RawPath += "/" + orderID
		req.PathParameters["orderId"] = orderID
	}
	if len(query) > 0 {
		var raw []string
		for k, v := range query {
			raw = append(raw, k+"="+v)
		}
		slices.Sort(raw)
		req.RawQueryString = strings.Join(raw, "&")
		req.QueryStringParameters = query
	}
	req.RouteKey, req.RequestContext.RouteKey = route, route
	req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path = "GET", req.RawPath
	return req
}

// sampleClaims are the claims of the sample ID token: issued five minutes before the
// request and valid for an hour, as a Cognito ID token is.
type sampleClaims struct {
	Sub      string `json:"sub"`
	Iss      string `json:"iss"`
	Aud      string `json:"aud"`
	TokenUse string `json:"token_use"`
	Iat      int64  `json:"iat"`
	Nbf      int64  `json:"nbf"`
	Exp      int64  `json:"exp"`
}

// jwtEvent is what API Gateway sends when its JWT authorizer accepted the bearer token:
// the token's claims, every value as a string, under requestContext.authorizer.jwt. The
// token carries the same claims; its signature is a placeholder.
func jwtEvent(t *testing.T, user, body string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	issued := sampleTime.Add(-5 * time.Minute).Unix()
	c := sampleClaims{
		Sub: user, Iss: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_EXAMPLE", Aud: "ordersync-web",
		TokenUse: "id", Iat: issued, Nbf: issued, Exp: issued + 3600,
	}
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	token := b64([]byte(`{"kid":"sample","alg":"RS256"}`)) + "." + b64(payload) + "." + b64([]byte("signature"))
	return httpEvent(user, body, map[string]string{"authorization": "Bearer " + token}, map[string]string{
		"sub": c.Sub, "iss": c.Iss, "aud": c.Aud, "token_use": c.TokenUse,
		"iat": fmt.Sprint(c.Iat), "nbf": fmt.Sprint(c.Nbf), "exp": fmt.Sprint(c.Exp),
	})
}

// kafkaEvent is a batch as an MSK ("aws:kafka") or self-managed Kafka
// ("SelfManagedKafka") trigger delivers it to validate-order: partition 0 holds an order
// create-order would write and a record that is no envelope at all (a raw request body),
// partition 1 an order whose total does not match, which validate-order rejects.
func kafkaEvent(t *testing.T, source string) events.KafkaEvent {
	t.Helper()
	const topic = "orders.submitted"
	good := order.Order{
		OrderID: order.ID("user-42", "sample-accepted"), UserID: "user-42", ProductID: "CATALOG-0001",
		Qty: 5, UnitPrice: 1200, TotalPrice: 6000, Status: order.Pending, CreatedAt: sampleTime,
	}
	bad := order.Order{
		OrderID: order.ID("user-7", "sample-rejected"), UserID: "user-7", ProductID: "CATALOG-0002",
		Qty: 3, UnitPrice: 4999, TotalPrice: 4999, Status: order.Pending, CreatedAt: sampleTime.Add(2 * time.Second),
	}
	submitted := []map[string]events.JSONNumberBytes{{order.HeaderEvent: events.JSONNumberBytes(order.EventSubmitted)}}
	rec := func(partition, offset int64, o *order.Order, key string, value []byte, at time.Time) events.KafkaRecord {
		if o != nil {
			v, err := order.Codec.Encode(o)
			if err != nil {
				t.Fatal(err)
			}
			key, value = o.OrderID, v
		}
		return events.KafkaRecord{
			Topic: topic, Partition: partition, Offset: offset,
			Timestamp: events.MilliSecondsEpochTime{Time: at}, TimestampType: "CREATE_TIME",
			Key:     base64.StdEncoding.EncodeToString([]byte(key)),
			Value:   base64.StdEncoding.EncodeToString(value),
			Headers: submitted,
		}
	}
	ev := events.KafkaEvent{
		EventSource: source,
		Records: map[string][]events.KafkaRecord{
			topic + "-0": {
				rec(0, 1041, &good, "", nil, sampleTime),
				rec(0, 1042, nil, "user-9", []byte(`{"productId": "CATALOG-0001", "qty": 5, "unitPrice": 1200}`), sampleTime.Add(3*time.Second)),
			},
			topic + "-1": {rec(1, 877, &bad, "", nil, sampleTime.Add(2*time.Second))},
		},
	}
	if source == "aws:kafka" {
		ev.EventSourceARN = "arn:aws:kafka:eu-west-1:111122223333:cluster/ordersync-dev/11111111-2222-3333-4444-555555555555-1"
		ev.BootstrapServers = "b-1.ordersyncdev.abcdef.c2.kafka.eu-west-1.amazonaws.com:9098,b-2.ordersyncdev.abcdef.c2.kafka.eu-west-1.amazonaws.com:9098"
	} else {
		ev.BootstrapServers = "kafka-1.internal.example.com:9096,kafka-2.internal.example.com:9096"
	}
	return ev
}

// TestEvents compares events/ with the generator; -update rewrites it.
func TestEvents(t *testing.T) {
	want := sampleEvents(t)
	for name, ev := range want {
		data, err := formatEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("events", name)
		if testkit.Updating() {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (go test . -run TestEvents -update writes it)", err)
			continue
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%s differs from the generator; go test . -run TestEvents -update rewrites it", path)
		}
	}
	files, err := filepath.Glob("events/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := want[filepath.Base(f)]; !ok {
			t.Errorf("%s is not made by the generator", f)
		}
	}
}

// userPath matches the HTTP API route's path.
var userPath = regexp.MustCompile(`^/order-service/([^/]+)/orders$`)

// TestCreateOrderEvents checks that each create-order sample is what API Gateway sends for
// the template's route, and that its body is accepted or rejected by the order rules as
// its name says. create-order is a command, so its handler is exercised on these files by
// decoding them exactly as the Lambda runtime does.
func TestCreateOrderEvents(t *testing.T) {
	testkit.JSONFiles(t, "events/create-order*.json", 1, func(t *testing.T, f string, req *events.APIGatewayV2HTTPRequest) {
		if req.Version != "2.0" || req.RouteKey != "POST /order-service/{userId}/orders" || req.RequestContext.HTTP.Method != "POST" {
			t.Errorf("version %q, route %q, method %q: want 2.0, POST /order-service/{userId}/orders, POST",
				req.Version, req.RouteKey, req.RequestContext.HTTP.Method)
		}
		m := userPath.FindStringSubmatch(req.RawPath)
		if m == nil || req.PathParameters["userId"] != m[1] || req.RequestContext.HTTP.Path != req.RawPath {
			t.Fatalf("path %q, userId %q: the path parameter must match the path", req.RawPath, req.PathParameters["userId"])
		}
		if ct := req.Headers["content-type"]; ct != "application/json" {
			t.Errorf("content-type %q", ct)
		}
		for k := range req.Headers {
			if k != strings.ToLower(k) {
				t.Errorf("header %q: HTTP APIs send header names in lower case", k)
			}
		}
		user := m[1]
		if a := req.RequestContext.Authorizer; a != nil && a.JWT != nil {
			if sub := a.JWT.Claims["sub"]; sub != user {
				t.Errorf("JWT sub %q differs from the path user %q: create-order would answer 403", sub, user)
			}
			if !strings.HasPrefix(req.Headers["authorization"], "Bearer ") {
				t.Error("a JWT event needs its Authorization: Bearer header")
			}
			for _, p := range jwtProblems(req.Headers["authorization"], a.JWT.Claims, req.RequestContext.TimeEpoch) {
				t.Error(p)
			}
		}
		if k, ok := req.Headers["idempotency-key"]; ok && !order.ValidKey(k) {
			t.Errorf("Idempotency-Key %q is not valid", k)
		}
		var body order.Request
		if err := body.UnmarshalJSON([]byte(req.Body)); err != nil {
			t.Fatalf("body: %v", err)
		}
		o, errs := body.Order(user, "", sampleTime)
		invalid := strings.Contains(f, "invalid")
		switch {
		case invalid && errs == nil:
			t.Error("an invalid sample passes the order rules")
		case !invalid && errs != nil:
			t.Errorf("body breaks the order rules: %v", errs)
		case !invalid && o.TotalPrice != int64(o.Qty)*o.UnitPrice:
			t.Errorf("total %d", o.TotalPrice)
		}
		if got, want := req.Headers["content-length"], fmt.Sprint(len(req.Body)); got != want {
			t.Errorf("content-length %s, body has %s bytes", got, want)
		}
	})
}

// jwtProblems lists why API Gateway's JWT authorizer would not have let a request with
// this token through at timeEpoch (ms): the token must be valid then (iat and nbf at or
// before it, exp at least a minute after it), and the claims the event carries must be
// the token's own.
func jwtProblems(authorization string, claims map[string]string, timeEpoch int64) []string {
	var ps []string
	at := timeEpoch / 1000
	num := func(name string) (int64, bool) {
		v, err := strconv.ParseInt(claims[name], 10, 64)
		if err != nil {
			ps = append(ps, fmt.Sprintf("claim %s %q is not a NumericDate", name, claims[name]))
		}
		return v, err == nil
	}
	if iat, ok := num("iat"); ok && iat > at {
		ps = append(ps, fmt.Sprintf("iat %d is after the request (timeEpoch %d s)", iat, at))
	}
	if nbf, ok := num("nbf"); ok && nbf > at {
		ps = append(ps, fmt.Sprintf("nbf %d is after the request (timeEpoch %d s): the token is not valid yet", nbf, at))
	}
	if exp, ok := num("exp"); ok && exp < at+60 {
		ps = append(ps, fmt.Sprintf("exp %d is not well after the request (timeEpoch %d s): the authorizer answers 401", exp, at))
	}
	parts := strings.Split(strings.TrimPrefix(authorization, "Bearer "), ".")
	if len(parts) != 3 {
		return append(ps, "the bearer token is not header.payload.signature")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var inToken map[string]any
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		err = dec.Decode(&inToken)
	}
	if err != nil {
		return append(ps, fmt.Sprintf("token payload: %v", err))
	}
	for name, v := range inToken {
		if got := fmt.Sprint(v); claims[name] != got {
			ps = append(ps, fmt.Sprintf("claim %s is %q in the event, %q in the token", name, claims[name], got))
		}
	}
	if len(inToken) != len(claims) {
		ps = append(ps, fmt.Sprintf("the event has %d claims, the token %d", len(claims), len(inToken)))
	}
	return ps
}

// TestJWTProblems proves the check above can fail, on the token the JWT sample used to
// carry: it had expired three days before the request, and had no nbf.
func TestJWTProblems(t *testing.T) {
	const old = "Bearer eyJraWQiOiJzYW1wbGUiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJl"
	claims := map[string]string{"sub": "user-42", "exp": "1795084200", "iat": "1795080600"}
	got := strings.Join(jwtProblems(old, claims, sampleTime.UnixMilli()), "\n")
	for _, want := range []string{"exp 1795084200 is not well after", `claim nbf "" is not a NumericDate`, "the event has 3 claims, the token 1"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems do not say %q:\n%s", want, got)
		}
	}
	future := map[string]string{"sub": "user-42", "iat": "1795339801", "nbf": "1795339900", "exp": "1795343400"}
	got = strings.Join(jwtProblems("Bearer a.e30.c", future, sampleTime.UnixMilli()), "\n")
	for _, want := range []string{"iat 1795339801 is after", "nbf 1795339900 is after"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems do not say %q:\n%s", want, got)
		}
	}
}
