package httpapi

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/envelope"
)

// Invoke returns handle as a handler of the payload bytes the Lambda runtime delivers
// (see logging.Handler): the event is read with ReadRequest, and the response written
// with AppendResponse.
func Invoke(handle func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)) func(context.Context, []byte) ([]byte, error) {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		req, err := ReadRequest(payload)
		if err != nil {
			return nil, err
		}
		resp, err := handle(ctx, req)
		if err != nil {
			return nil, err
		}
		return AppendResponse(make([]byte, 0, 512), resp), nil
	}
}

// ReadRequest reads an HTTP API event (payload format 2.0), as the Lambda runtime hands
// it over, with the envelope's JSON syntax layer rather than encoding/json's reflection,
// whose first use in a process is a large part of a cold start's first invocation. It
// reads the members the handlers use, into the fields encoding/json would set:
// rawPath, headers, queryStringParameters, pathParameters, body, isBase64Encoded and
// requestContext.authorizer.jwt.claims (an authorizer of another kind leaves JWT nil).
// The others are skipped. Members are matched as encoding/json matches them, and null is
// read as it reads it (TestReadRequest, FuzzReadRequest). Malformed JSON (invalid UTF-8
// included), a member of the wrong type and a member name given twice in one object are
// errors.
func ReadRequest(payload []byte) (events.APIGatewayV2HTTPRequest, error) {
	var req events.APIGatewayV2HTTPRequest
	err := envelope.ReadObject(payload, func(name []byte, v *envelope.Value) error {
		switch envelope.MemberName(name, requestMembers) {
		case "rawPath":
			return v.SetText(&req.RawPath)
		case "headers":
			return texts(v, &req.Headers)
		case "queryStringParameters":
			return texts(v, &req.QueryStringParameters)
		case "pathParameters":
			return texts(v, &req.PathParameters)
		case "body":
			return v.SetText(&req.Body)
		case "isBase64Encoded":
			return v.SetBool(&req.IsBase64Encoded)
		case "requestContext":
			return object(v, func(name []byte, v *envelope.Value) error {
				if envelope.MemberName(name, contextMembers) != "authorizer" {
					return nil
				}
				return authorizer(v, &req.RequestContext.Authorizer)
			})
		}
		return nil
	})
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("http api event: %w", err)
	}
	return req, nil
}

// The members ReadRequest reads, as events.APIGatewayV2HTTPRequest names them.
var (
	requestMembers    = []string{"rawPath", "headers", "queryStringParameters", "pathParameters", "body", "isBase64Encoded", "requestContext"}
	contextMembers    = []string{"authorizer"}
	authorizerMembers = []string{"jwt"}
	jwtMembers        = []string{"claims"}
)

// authorizer reads requestContext.authorizer: its JWT claims.
func authorizer(v *envelope.Value, a **events.APIGatewayV2HTTPRequestContextAuthorizerDescription) error {
	return objectInto(v, a, func(a *events.APIGatewayV2HTTPRequestContextAuthorizerDescription, name []byte, v *envelope.Value) error {
		if envelope.MemberName(name, authorizerMembers) != "jwt" {
			return nil
		}
		return objectInto(v, &a.JWT, func(jwt *events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription, name []byte, v *envelope.Value) error {
			if envelope.MemberName(name, jwtMembers) != "claims" {
				return nil
			}
			return texts(v, &jwt.Claims)
		})
	})
}

// objectInto reads an object member into the struct *p points to, made when *p is nil,
// calling member for each of its members; null makes *p nil, as encoding/json does.
func objectInto[T any](v *envelope.Value, p **T, member func(t *T, name []byte, v *envelope.Value) error) error {
	if null, err := v.Null(); null || err != nil {
		*p = nil
		return err
	}
	if *p == nil {
		*p = new(T)
	}
	t := *p
	return v.Object(func(name []byte, v *envelope.Value) error { return member(t, name, v) })
}

// object reads an object member with member; null leaves what it holds as it is.
func object(v *envelope.Value, member func(name []byte, v *envelope.Value) error) error {
	if null, err := v.Null(); null || err != nil {
		return err
	}
	return v.Object(member)
}

// texts reads an object of strings into m, adding to what it holds; null makes m nil,
// and a null value is "".
func texts(v *envelope.Value, m *map[string]string) error {
	if null, err := v.Null(); null || err != nil {
		*m = nil
		return err
	}
	if *m == nil {
		*m = map[string]string{}
	}
	return v.Object(func(name []byte, v *envelope.Value) error {
		var s string
		if err := v.SetText(&s); err != nil {
			return err
		}
		(*m)[string(name)] = s
		return nil
	})
}

// AppendResponse appends r as JSON, with the members and values encoding/json writes for
// it (object keys sorted, strings escaped as envelope.AppendString escapes them).
func AppendResponse(b []byte, r events.APIGatewayV2HTTPResponse) []byte {
	b = append(b, `{"statusCode":`...)
	b = strconv.AppendInt(b, int64(r.StatusCode), 10)
	b = append(b, `,"headers":`...)
	b = appendMap(b, r.Headers, envelope.AppendString)
	b = append(b, `,"multiValueHeaders":`...)
	b = appendMap(b, r.MultiValueHeaders, appendStrings)
	b = append(b, `,"body":`...)
	b = envelope.AppendString(b, r.Body)
	if r.IsBase64Encoded {
		b = append(b, `,"isBase64Encoded":true`...)
	}
	b = append(b, `,"cookies":`...)
	b = appendStrings(b, r.Cookies)
	return append(b, '}')
}

// appendMap appends m as a JSON object with its keys in order, or null for a nil map.
func appendMap[V any](b []byte, m map[string]V, value func([]byte, V) []byte) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = envelope.AppendString(b, k)
		b = append(b, ':')
		b = value(b, m[k])
	}
	return append(b, '}')
}

// appendStrings appends ss as a JSON array, or null for a nil slice.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = envelope.AppendString(b, s)
	}
	return append(b, ']')
}
