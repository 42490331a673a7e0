// Package gateway provides an HTTP API (API Gateway v2) emulator: it matches requests to
// routes, turns them into payload format 2.0 events, invokes the route's function and
// maps its response back to HTTP.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Errors returned by New.
var (
	// ErrRoute is returned for a route the gateway cannot serve.
	ErrRoute = errors.New("route")
)

// DefaultMaxBody is API Gateway's request payload limit.
const DefaultMaxBody = 10 << 20

// Invoker runs one invocation of a function.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Route sends requests for Method and Path to a function.
type Route struct {
	Method   string // "GET", "POST", ... or "ANY"
	Path     string // "/orders/{id}", "/files/{proxy+}", or "$default"
	Name     string // the function's name, for logs
	Function Invoker
}

// Gateway is an http.Handler for a set of routes.
type Gateway struct {
	routes  []route
	maxBody int64
	logf    func(format string, args ...any)
	now     func() time.Time
	newID   func() string
	timeout func(error) bool
}

// Option configures a Gateway.
type Option func(*Gateway)

// WithMaxBody sets the request body limit (default DefaultMaxBody).
func WithMaxBody(n int64) Option { return func(g *Gateway) { g.maxBody = n } }

// WithLogf sets where the one-line-per-request log goes.
func WithLogf(f func(format string, args ...any)) Option { return func(g *Gateway) { g.logf = f } }

// WithTimeoutError tells the gateway which invocation errors are timeouts (answered 503
// instead of 502).
func WithTimeoutError(is func(error) bool) Option { return func(g *Gateway) { g.timeout = is } }

type route struct {
	Route
	key      string
	segments []string // nil for $default
	greedy   bool
	literals int
}

// New returns a gateway for routes.
func New(routes []Route, opts ...Option) (*Gateway, error) {
	g := &Gateway{
		maxBody: DefaultMaxBody,
		logf:    func(string, ...any) {},
		now:     time.Now,
		newID:   requestID,
		timeout: func(error) bool { return false },
	}
	for _, o := range opts {
		o(g)
	}
	seen := map[string]bool{}
	for _, r := range routes {
		if r.Function == nil {
			return nil, fmt.Errorf("%w %s %s: no function", ErrRoute, r.Method, r.Path)
		}
		rt := route{Route: r}
		rt.Method = strings.ToUpper(r.Method)
		if rt.Method == "" {
			rt.Method = "ANY"
		}
		if r.Path == "$default" {
			rt.key = "$default"
		} else {
			if !strings.HasPrefix(r.Path, "/") {
				return nil, fmt.Errorf("%w %q: path must start with /", ErrRoute, r.Path)
			}
			rt.key = rt.Method + " " + r.Path
			rt.segments = strings.Split(strings.Trim(r.Path, "/"), "/")
			for i, s := range rt.segments {
				if isParam(s) {
					if strings.HasSuffix(s, "+}") {
						if i != len(rt.segments)-1 {
							return nil, fmt.Errorf("%w %q: a greedy {name+} must be the last segment", ErrRoute, r.Path)
						}
						rt.greedy = true
					}
				} else {
					rt.literals++
				}
			}
		}
		if seen[rt.key] {
			return nil, fmt.Errorf("%w %s: defined twice", ErrRoute, rt.key)
		}
		seen[rt.key] = true
		g.routes = append(g.routes, rt)
	}
	return g, nil
}

func isParam(s string) bool { return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") }

// Match returns the route for a method and raw (escaped) path, with its path parameters,
// by API Gateway's precedence: the most literal segments first, a greedy path after a
// fixed one, a method over ANY, and $default last.
func (g *Gateway) Match(method, rawPath string) (Route, string, map[string]string, bool) {
	parts := strings.Split(strings.Trim(rawPath, "/"), "/")
	var (
		best   *route
		params map[string]string
	)
	better := func(a, b *route) bool {
		if b == nil {
			return true
		}
		if (a.segments == nil) != (b.segments == nil) {
			return b.segments == nil
		}
		if a.greedy != b.greedy {
			return !a.greedy
		}
		if a.literals != b.literals {
			return a.literals > b.literals
		}
		if len(a.segments) != len(b.segments) {
			return len(a.segments) > len(b.segments)
		}
		return a.Method != "ANY" && b.Method == "ANY"
	}
	for i := range g.routes {
		r := &g.routes[i]
		if r.Method != "ANY" && r.Method != method {
			continue
		}
		if r.segments == nil {
			if better(r, best) {
				best, params = r, nil
			}
			continue
		}
		p, ok := matchPath(r.segments, parts)
		if ok && better(r, best) {
			best, params = r, p
		}
	}
	if best == nil {
		return Route{}, "", nil, false
	}
	return best.Route, best.key, params, true
}

func matchPath(segments, parts []string) (map[string]string, bool) {
	var params map[string]string
	set := func(k, v string) {
		if params == nil {
			params = map[string]string{}
		}
		params[k] = v
	}
	for i, s := range segments {
		if strings.HasSuffix(s, "+}") && isParam(s) {
			if i >= len(parts) || (len(parts) == i+1 && parts[i] == "") {
				return nil, false
			}
			rest := strings.Join(parts[i:], "/")
			if v, err := url.PathUnescape(rest); err == nil {
				rest = v
			}
			set(s[1:len(s)-2], rest)
			return params, true
		}
		if i >= len(parts) {
			return nil, false
		}
		v, err := url.PathUnescape(parts[i])
		if err != nil {
			return nil, false
		}
		if isParam(s) {
			if v == "" {
				return nil, false
			}
			set(s[1:len(s)-1], v)
			continue
		}
		if v != s {
			return nil, false
		}
	}
	if len(parts) != len(segments) {
		return nil, false
	}
	return params, true
}

// ServeHTTP serves one request as API Gateway would.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	id := g.newID()
	w.Header().Set("Apigw-Requestid", id)
	rt, key, params, ok := g.Match(r.Method, r.URL.EscapedPath())
	if !ok {
		status := message(w, http.StatusNotFound, "Not Found")
		g.logf("%s %s %d (no route) %s", r.Method, r.URL.RequestURI(), status, time.Since(start).Round(time.Microsecond))
		return
	}
	status := g.serve(w, r, rt, key, params, id, start)
	g.logf("%s %s → %s %d %s", r.Method, r.URL.RequestURI(), rt.Name, status, time.Since(start).Round(time.Microsecond))
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, rt Route, key string, params map[string]string, id string, start time.Time) int {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return message(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		}
		return message(w, http.StatusBadRequest, "Bad Request")
	}
	ev := Event(r, key, params, body, id, start)
	payload, err := json.Marshal(ev)
	if err != nil {
		return message(w, http.StatusInternalServerError, "Internal Server Error")
	}
	out, err := rt.Function.Invoke(r.Context(), payload)
	if err != nil {
		g.logf("%s: %v", rt.Name, err)
		if g.timeout(err) {
			return message(w, http.StatusServiceUnavailable, "Service Unavailable")
		}
		return message(w, http.StatusBadGateway, "Internal Server Error")
	}
	status, err := WriteResponse(w, out)
	if err != nil {
		g.logf("%s: malformed response: %v", rt.Name, err)
		return message(w, http.StatusBadGateway, "Internal Server Error")
	}
	return status
}

// Event builds the payload format 2.0 event for a request whose body has been read.
func Event(r *http.Request, routeKey string, params map[string]string, body []byte, id string, at time.Time) events.APIGatewayV2HTTPRequest {
	headers, cookies := eventHeaders(r, body)
	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = make(map[string]string, len(q))
		for k, v := range q {
			query[k] = strings.Join(v, ",")
		}
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	prefix, _, _ := strings.Cut(host, ".")
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              routeKey,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     routeKey,
			AccountID:    "123456789012",
			Stage:        "$default",
			RequestID:    id,
			APIID:        "local",
			DomainName:   host,
			DomainPrefix: prefix,
			Time:         at.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    at.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  remoteIP(r),
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// eventHeaders are the request's headers as API Gateway passes them: lower-case names,
// repeated values joined by commas, cookies apart, and the x-forwarded-* it adds.
func eventHeaders(r *http.Request, body []byte) (map[string]string, []string) {
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[name] = strings.Join(values, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	if len(body) > 0 || r.ContentLength > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	sourceIP := remoteIP(r)
	if prior := headers["x-forwarded-for"]; prior != "" {
		headers["x-forwarded-for"] = prior + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	if _, p, err := net.SplitHostPort(hostWithPort(r)); err == nil {
		headers["x-forwarded-port"] = p
	}
	headers["x-forwarded-proto"] = "http"
	return headers, cookies
}

func hostWithPort(r *http.Request) string {
	if _, _, err := net.SplitHostPort(r.Host); err == nil {
		return r.Host
	}
	return net.JoinHostPort(r.Host, "80")
}

func remoteIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}

// isText reports whether API Gateway passes a body of this content type as text; every
// other body reaches the function base64-encoded.
func isText(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/ecmascript",
		mt == "application/graphql", mt == "application/yaml":
		return true
	}
	return false
}

// WriteResponse maps a function's payload format 2.0 response to HTTP. Output that is not
// a response object (no statusCode) is sent as a 200 JSON body, as API Gateway does.
func WriteResponse(w http.ResponseWriter, out []byte) (int, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(out, &probe); err != nil || probe["statusCode"] == nil {
		if !json.Valid(out) {
			return 0, errors.New("response is not JSON")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(out) //nolint:errcheck // the client went away
		return http.StatusOK, nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0, fmt.Errorf("decode response: %w", err)
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return 0, fmt.Errorf("status code %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return 0, fmt.Errorf("decode base64 body: %w", err)
		}
		body = b
	}
	h := w.Header()
	names := make([]string, 0, len(resp.MultiValueHeaders))
	for k := range resp.MultiValueHeaders {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range resp.MultiValueHeaders[k] {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	w.Write(body) //nolint:errcheck // the client went away
	return resp.StatusCode, nil
}

func message(w http.ResponseWriter, status int, msg string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message":%q}`, msg)
	return status
}

// requestID has API Gateway's shape, e.g. "JxW2XhKoIAMEVrA=".
func requestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead
	return base64.StdEncoding.EncodeToString(b)
}
