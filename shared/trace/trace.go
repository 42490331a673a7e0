// Package trace provides the trace context that follows an order from the HTTP request
// to the database row: read from the Lambda runtime (X-Ray) or a W3C traceparent, and
// written as Kafka record headers in both forms.
package trace

import (
	"context"
	"encoding/hex"
	"strings"
)

// Record header names of the two forms. validate-order copies both onto every output.
const (
	HeaderTraceparent = "traceparent"     // W3C Trace Context
	HeaderXRay        = "X-Amzn-Trace-Id" // AWS X-Ray tracing header
)

// Context is one trace: a 128-bit trace id, the 64-bit id of the span that is the
// parent of what comes next, and the sampling decision. The zero Context is invalid.
type Context struct {
	TraceID  [16]byte
	ParentID [8]byte
	Sampled  bool
}

// Valid reports whether c has a trace id and a parent id, as W3C requires.
func (c Context) Valid() bool { return c.TraceID != [16]byte{} && c.ParentID != [8]byte{} }

// lambdaTraceKey is the context key under which aws-lambda-go stores the invocation's
// Lambda-Runtime-Trace-Id (lambda/invoke_loop.go uses this plain string key).
const lambdaTraceKey = "x-amzn-trace-id"

// FromLambda returns the trace of the invocation ctx belongs to: the runtime's
// Lambda-Runtime-Trace-Id, which is also _X_AMZN_TRACE_ID.
func FromLambda(ctx context.Context) (Context, bool) {
	s, _ := ctx.Value(lambdaTraceKey).(string)
	return ParseXRay(s)
}

// ParseXRay reads an X-Ray tracing header:
// Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1.
// Fields may come in any order; unknown fields are ignored.
func ParseXRay(s string) (Context, bool) {
	var c Context
	for field := range strings.SplitSeq(s, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(field), "=")
		switch k {
		case "Root":
			// 1-<8 hex epoch seconds>-<24 hex random>: together the 128-bit W3C trace id.
			if len(v) != 35 || v[:2] != "1-" || v[10] != '-' || !decodeHex(c.TraceID[:4], v[2:10]) || !decodeHex(c.TraceID[4:], v[11:]) {
				return Context{}, false
			}
		case "Parent":
			if !decodeHex(c.ParentID[:], v) {
				return Context{}, false
			}
		case "Sampled":
			c.Sampled = v == "1"
		}
	}
	return c, c.Valid()
}

// ParseTraceparent reads a W3C traceparent of version 00 (and, as the specification
// asks, the first four fields of a later version).
func ParseTraceparent(s string) (Context, bool) {
	var c Context
	var flags [1]byte
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' || s[:2] == "ff" ||
		(s[:2] == "00" && len(s) != 55) || (len(s) > 55 && s[55] != '-') ||
		!decodeHex(make([]byte, 1), s[:2]) || !decodeHex(c.TraceID[:], s[3:35]) ||
		!decodeHex(c.ParentID[:], s[36:52]) || !decodeHex(flags[:], s[53:55]) {
		return Context{}, false
	}
	c.Sampled = flags[0]&1 == 1
	return c, c.Valid()
}

// Traceparent is c as a W3C traceparent header value.
func (c Context) Traceparent() string { return string(c.AppendTraceparent(make([]byte, 0, 55))) }

// XRay is c as an X-Ray tracing header value.
func (c Context) XRay() string { return string(c.AppendXRay(make([]byte, 0, 72))) }

// AppendTraceparent appends c as a W3C traceparent header value to b.
func (c Context) AppendTraceparent(b []byte) []byte {
	b = append(b, "00-"...)
	b = hex.AppendEncode(b, c.TraceID[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, c.ParentID[:])
	return append(append(b, "-0"...), c.sampledDigit())
}

// AppendXRay appends c as an X-Ray tracing header value to b.
func (c Context) AppendXRay(b []byte) []byte {
	b = append(b, "Root=1-"...)
	b = hex.AppendEncode(b, c.TraceID[:4])
	b = append(b, '-')
	b = hex.AppendEncode(b, c.TraceID[4:])
	b = append(b, ";Parent="...)
	b = hex.AppendEncode(b, c.ParentID[:])
	return append(append(b, ";Sampled="...), c.sampledDigit())
}

// sampledDigit is the sampling decision as both headers write it: '1' or '0'.
func (c Context) sampledDigit() byte {
	if c.Sampled {
		return '1'
	}
	return '0'
}

// decodeHex decodes lower- or upper-case hex s into exactly len(dst) bytes.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	_, err := hex.Decode(dst, []byte(s))
	return err == nil
}
