package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// readMembers is what encoding/json reads of an event into the fields ReadRequest
// reads, with the same names: ReadRequest's reference.
type readMembers struct {
	RawPath               string            `json:"rawPath"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters"`
	PathParameters        map[string]string `json:"pathParameters"`
	Body                  string            `json:"body"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
	RequestContext        struct {
		Authorizer *struct {
			JWT *struct {
				Claims map[string]string `json:"claims"`
			} `json:"jwt"`
		} `json:"authorizer"`
	} `json:"requestContext"`
}

// reference decodes doc with encoding/json into the members ReadRequest reads.
func reference(doc []byte) (events.APIGatewayV2HTTPRequest, error) {
	var m readMembers
	if err := json.Unmarshal(doc, &m); err != nil {
		return events.APIGatewayV2HTTPRequest{}, err
	}
	req := events.APIGatewayV2HTTPRequest{RawPath: m.RawPath, Headers: m.Headers, QueryStringParameters: m.QueryStringParameters,
		PathParameters: m.PathParameters, Body: m.Body, IsBase64Encoded: m.IsBase64Encoded}
	if a := m.RequestContext.Authorizer; a != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{}
		if a.JWT != nil {
			req.RequestContext.Authorizer.JWT = &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: a.JWT.Claims}
		}
	}
	return req, nil
}

// requestCases are HTTP API events, well formed, that ReadRequest must read as
// encoding/json does.
var requestCases = map[string]string{
	"empty":   `{}`,
	"minimal": `{"rawPath":"/order-service/u/orders","body":"{}"}`,
	"nulls": `{"rawPath":null,"headers":null,"queryStringParameters":null,"pathParameters":null,"body":null,"isBase64Encoded":null,
		"requestContext":null}`,
	"null values":        `{"headers":{"a":null},"pathParameters":{"userId":null}}`,
	"base64":             `{"body":"eyJxdHkiOjF9","isBase64Encoded":true}`,
	"not base64":         `{"body":"x","isBase64Encoded":false}`,
	"query":              `{"rawQueryString":"limit=5&cursor=abc","queryStringParameters":{"limit":"5","cursor":"abc"}}`,
	"lambda authorizer":  `{"requestContext":{"authorizer":{"lambda":{"sub":"u","n":1}}}}`,
	"iam authorizer":     `{"requestContext":{"authorizer":{"iam":{"accessKey":"a","userId":"u"}}}}`,
	"null authorizer":    `{"requestContext":{"authorizer":null}}`,
	"null jwt":           `{"requestContext":{"authorizer":{"jwt":null}}}`,
	"jwt without claims": `{"requestContext":{"authorizer":{"jwt":{"scopes":["a"]}}}}`,
	"null claims":        `{"requestContext":{"authorizer":{"jwt":{"claims":null}}}}`,
	"jwt and lambda":     `{"requestContext":{"authorizer":{"lambda":{},"jwt":{"claims":{"sub":"u"}},"iam":null}}}`,
	"escapes":            `{"rawPath":"/a\u0062c","headers":{"x-\u00e9":"\ud83d\ude00\n\"\\\/"},"body":"\u0000\u001f"}`,
	"other members":      `{"version":"2.0","cookies":["a=b"],"stageVariables":{"s":"t"},"requestContext":{"http":{"method":"POST"},"timeEpoch":1},"x":[{"y":null}]}`,
	"names in other case": `{"RAWPATH":"/a","Headers":{"A":"b"},"headers":{"c":"d"},"BODY":"b","IsBase64Encoded":true,
		"RequestContext":{"Authorizer":{"JWT":{"Claims":{"sub":"u"}}}}}`,
	"white space": " {\n\t\"rawPath\" : \"/x\" ,\r\n \"headers\" : { \"a\" : \"b\" } } ",
}

// TestReadRequest: ReadRequest reads the sample events and every well-formed case as
// encoding/json reads them, field for field.
func TestReadRequest(t *testing.T) {
	cases := map[string][]byte{}
	for name, doc := range requestCases {
		cases[name] = []byte(doc)
	}
	files, err := filepath.Glob("../../events/*order*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.Contains(f, "validate-order") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases[filepath.Base(f)] = b
	}
	if len(cases) < len(requestCases)+5 {
		t.Fatalf("only %d sample events", len(cases)-len(requestCases))
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			want, err := reference(doc)
			if err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			got, err := ReadRequest(doc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ReadRequest:\n%#v\nencoding/json:\n%#v", got, want)
			}
		})
	}
	// All the members of a full event are read into the same fields as encoding/json's.
	doc, _ := os.ReadFile("../../events/create-order-jwt.json")
	var full events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(doc, &full); err != nil {
		t.Fatal(err)
	}
	got, _ := ReadRequest(doc)
	if got.RawPath != full.RawPath || !reflect.DeepEqual(got.Headers, full.Headers) || got.Body != full.Body ||
		!reflect.DeepEqual(got.RequestContext.Authorizer.JWT.Claims, full.RequestContext.Authorizer.JWT.Claims) {
		t.Errorf("create-order-jwt.json: %+v", got)
	}
}

// TestReadRequestErrors: an event encoding/json refuses is refused too, and so is one
// whose meaning encoding/json would guess at.
func TestReadRequestErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":             `{"rawPath":`,
		"not an object":        `"x"`,
		"trailing data":        `{}x`,
		"rawPath a number":     `{"rawPath":1}`,
		"headers a list":       `{"headers":["a"]}`,
		"header a number":      `{"headers":{"a":1}}`,
		"body an object":       `{"body":{}}`,
		"base64 flag a string": `{"isBase64Encoded":"true"}`,
		"claims a list":        `{"requestContext":{"authorizer":{"jwt":{"claims":[]}}}}`,
		"claim a number":       `{"requestContext":{"authorizer":{"jwt":{"claims":{"exp":1}}}}}`,
		"authorizer a string":  `{"requestContext":{"authorizer":"x"}}`,
		"bad syntax elsewhere": `{"version":"2.0",,"rawPath":"/"}`,
		"duplicate member":     `{"rawPath":"/a","rawPath":"/b"}`,
		"duplicate header":     `{"headers":{"a":"1","a":"2"}}`,
		"invalid utf-8":        "{\"body\":\"\xff\"}",
	} {
		t.Run(name, func(t *testing.T) {
			if req, err := ReadRequest([]byte(doc)); err == nil || !strings.HasPrefix(err.Error(), "http api event: ") {
				t.Errorf("ReadRequest = %+v, %v; want an http api event error", req, err)
			}
		})
	}
}

// FuzzReadRequest checks the HTTP API event reader against encoding/json on any bytes:
// whatever ReadRequest reads, encoding/json reads too, into the same fields.
func FuzzReadRequest(f *testing.F) {
	for _, doc := range requestCases {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := ReadRequest(doc)
		if err != nil {
			return
		}
		want, err := reference(doc)
		if err != nil {
			t.Fatalf("ReadRequest read %q, encoding/json refuses it: %v", doc, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: ReadRequest:\n%#v\nencoding/json:\n%#v", doc, got, want)
		}
	})
}

// TestAppendResponse: the answer reads back, with encoding/json, as the response it was
// written from; and where nothing needs escaping it is byte for byte what aws-lambda-go
// writes with encoding/json (HTML left unescaped).
func TestAppendResponse(t *testing.T) {
	for _, r := range []events.APIGatewayV2HTTPResponse{
		{},
		{StatusCode: 201, Headers: map[string]string{"Location": "/order-service/u/orders/1", "Content-Type": "application/json"}, Body: `{"orderId":"1"}`},
		{StatusCode: 503, Headers: map[string]string{"Retry-After": "1", "Content-Type": "application/problem+json", "A": ""}, Body: "<&>"},
		{StatusCode: 200, Headers: map[string]string{}, MultiValueHeaders: map[string][]string{"b": {"1", "2"}, "a": nil, "c": {}}, Cookies: []string{"x=y", ""}},
		{StatusCode: 200, Body: "eyJ9", IsBase64Encoded: true, Cookies: []string{}},
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		got := AppendResponse(nil, r)
		if string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("AppendResponse = %s\nencoding/json writes %s", got, want.Bytes())
		}
	}
	// Escaped strings read back as encoding/json's own output does.
	r := events.APIGatewayV2HTTPResponse{StatusCode: 400, Headers: map[string]string{"k\n\x00": "\"\\\u2028\U0001F600\xff"},
		Body: "line\nbreak\ttab\x01\x7f é \U0001F600 \xfe"}
	written, _ := json.Marshal(r)
	var want, got events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(written, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(AppendResponse(nil, r), &got); err != nil {
		t.Fatalf("%s: %v", AppendResponse(nil, r), err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reads back as %+v, want %+v", got, want)
	}
}

// TestInvoke: the handler gets the request the event holds, and its answer goes back
// as JSON; an event that does not read, or an error of the handler, is the invocation's
// error.
func TestInvoke(t *testing.T) {
	handle := Invoke(func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if req.Body == "fail" {
			return events.APIGatewayV2HTTPResponse{}, errors.New("handler failed")
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"X-Path": req.RawPath}, Body: req.Body}, nil
	})
	out, err := handle(context.Background(), []byte(`{"rawPath":"/p","body":"b"}`))
	if want := `{"statusCode":200,"headers":{"X-Path":"/p"},"multiValueHeaders":null,"body":"b","cookies":null}`; err != nil || string(out) != want {
		t.Errorf("Invoke = %s, %v; want %s", out, err, want)
	}
	if out, err := handle(context.Background(), []byte(`{"body":"fail"}`)); err == nil || err.Error() != "handler failed" {
		t.Errorf("failing handler: %s, %v", out, err)
	}
	if out, err := handle(context.Background(), []byte(`{"body":`)); err == nil {
		t.Errorf("malformed event: %s, %v", out, err)
	}
}
