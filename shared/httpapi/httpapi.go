// Package httpapi provides what the HTTP functions share behind API Gateway's HTTP API
// (payload format 2.0): the caller's user and RFC 9457 problem+json answers.
package httpapi

import (
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/ordersync/ordersync/shared/order"
)

// RetryAfter is the Retry-After of a 503, in seconds.
const RetryAfter = "1"

// A Problem is one kind of error answer, an RFC 9457 problem type.
type Problem struct {
	Status int
	Type   string // a URI naming the problem
	Title  string
}

// The API's problem types (docs/http-api.md), all in this one list so that a URN never
// means two things. Forbidden and Internal are every HTTP function's answers; the others
// are one function's.
var (
	Forbidden = Problem{403, "urn:ordersync:problem:user-mismatch", "Path user is not the authenticated user"}
	Internal  = Problem{500, "about:blank", "Internal Server Error"}

	// create-order
	MalformedBody        = Problem{400, "urn:ordersync:problem:malformed-body", "Malformed request body"}
	BodyTooLarge         = Problem{413, "urn:ordersync:problem:body-too-large", "Request body too large"}
	UnsupportedMediaType = Problem{415, "urn:ordersync:problem:unsupported-media-type", "Unsupported media type"}
	InvalidOrder         = Problem{422, "urn:ordersync:problem:invalid-order", "Invalid order"}
	NotAcknowledged      = Problem{503, "urn:ordersync:problem:not-acknowledged", "Order not acknowledged"}

	// get-orders
	InvalidRequest      = Problem{422, "urn:ordersync:problem:invalid-request", "Invalid request"}
	OrderNotFound       = Problem{404, "urn:ordersync:problem:order-not-found", "Order not found"}
	DatabaseUnavailable = Problem{503, "urn:ordersync:problem:database-unavailable", "Database unavailable"}
)

// Response is the application/problem+json answer of p with detail and, for 422, the
// broken rules. A 503 carries Retry-After.
func (p Problem) Response(detail string, errs []order.FieldError) events.APIGatewayV2HTTPResponse {
	b := make([]byte, 0, 256)
	b = append(b, `{"type":`...)
	b = envelope.AppendString(b, p.Type)
	b = append(b, `,"title":`...)
	b = envelope.AppendString(b, p.Title)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(p.Status), 10)
	b = append(b, `,"detail":`...)
	b = envelope.AppendString(b, detail)
	if errs != nil {
		b = append(b, `,"errors":[`...)
		for i, e := range errs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"field":`...)
			b = envelope.AppendString(b, e.Field)
			b = append(b, `,"message":`...)
			b = envelope.AppendString(b, e.Message)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	headers := map[string]string{"Content-Type": "application/problem+json"}
	if p.Status == 503 {
		headers["Retry-After"] = RetryAfter
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: p.Status, Headers: headers, Body: string(b)}
}

// User returns the user a request acts as, or the detail of a Forbidden answer.
//
// With a JWT authorizer's claims present the user is the sub claim, which is then
// required: claims without a sub (or with an empty one) are refused rather than falling
// back to the path, which would let any token holder act as any user. A path {userId}
// that differs from sub is refused too. Without an authorizer the path user is the user.
func User(req *events.APIGatewayV2HTTPRequest) (user, refused string) {
	path := PathUser(req)
	a := req.RequestContext.Authorizer
	if a == nil || a.JWT == nil {
		return path, ""
	}
	// A JWT authorizer that passed no claims at all is still an authorizer: its sub is
	// missing, so the request names no user (nil Claims reads as an empty map).
	sub := a.JWT.Claims["sub"]
	switch {
	case sub == "":
		return "", "the token has no sub claim, so it names no user"
	case path != "" && path != sub:
		return "", "the path user is not the authenticated user"
	}
	return sub, ""
}

// PathUser returns the {userId} of an /order-service/{userId}/... route: the path
// parameter, or, when a gateway left the parameters out, the segment after
// /order-service/.
func PathUser(req *events.APIGatewayV2HTTPRequest) string {
	if u, ok := req.PathParameters["userId"]; ok {
		return u
	}
	p, ok := strings.CutPrefix(req.RawPath, "/order-service/")
	if !ok {
		return ""
	}
	u, _, _ := strings.Cut(p, "/")
	return u
}
