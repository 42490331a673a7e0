package main

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/ordersync/ordersync/shared/order"
)

// A problemType is one kind of error answer, an RFC 9457 problem type.
type problemType struct {
	status int
	typ    string // a URI naming the problem
	title  string
}

// The problems create-order answers with.
var (
	pMalformed   = problemType{400, "urn:ordersync:problem:malformed-body", "Malformed request body"}
	pForbidden   = problemType{403, "urn:ordersync:problem:user-mismatch", "Path user is not the authenticated user"}
	pNoSubject   = problemType{403, "urn:ordersync:problem:no-subject", "Token without a subject"}
	pTooLarge    = problemType{413, "urn:ordersync:problem:body-too-large", "Request body too large"}
	pMediaType   = problemType{415, "urn:ordersync:problem:unsupported-media-type", "Unsupported media type"}
	pInvalid     = problemType{422, "urn:ordersync:problem:invalid-order", "Invalid order"}
	pInternal    = problemType{500, "about:blank", "Internal Server Error"}
	pUnavailable = problemType{503, "urn:ordersync:problem:not-acknowledged", "Order not acknowledged"}
)

// problemResponse is the application/problem+json answer of p with detail and, for
// 422, the broken rules.
func problemResponse(p problemType, detail string, errs []order.FieldError) events.APIGatewayV2HTTPResponse {
	bp := buffers.Get().(*[]byte)
	b := append((*bp)[:0], `{"type":`...)
	b = envelope.AppendString(b, p.typ)
	b = append(b, `,"title":`...)
	b = envelope.AppendString(b, p.title)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(p.status), 10)
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
	body := string(b)
	*bp = b[:0]
	buffers.Put(bp)
	headers := map[string]string{"Content-Type": "application/problem+json"}
	if p.status == 503 {
		headers["Retry-After"] = RetryAfter
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: p.status, Headers: headers, Body: body}
}

// problem answers a client error (4xx) and logs it at info level.
func (h *Handler) problem(ctx context.Context, requestID string, p problemType, detail string) (events.APIGatewayV2HTTPResponse, error) {
	h.logAttrs(ctx, slog.LevelInfo, "request refused",
		slog.String("request_id", requestID), slog.Int("status", p.status), slog.String("detail", detail))
	return problemResponse(p, detail, nil), nil
}

// invalid answers 422 with every broken rule.
func (h *Handler) invalid(ctx context.Context, requestID string, errs []order.FieldError) (events.APIGatewayV2HTTPResponse, error) {
	detail := "the order breaks " + strconv.Itoa(len(errs)) + " rules"
	if len(errs) == 1 {
		detail = "the order breaks 1 rule"
	}
	h.logAttrs(ctx, slog.LevelInfo, "request refused",
		slog.String("request_id", requestID), slog.Int("status", 422), slog.String("detail", detail))
	return problemResponse(pInvalid, detail, errs), nil
}

// internal answers 500 without saying why; the log says why.
func (h *Handler) internal(ctx context.Context, requestID, orderID, what string, err error) (events.APIGatewayV2HTTPResponse, error) {
	h.logAttrs(ctx, slog.LevelError, what+" failed",
		slog.String("request_id", requestID), slog.String("order_id", orderID), slog.Any("error", err))
	return problemResponse(pInternal, internalDetail, nil), nil
}

const internalDetail = "the order could not be taken; nothing was stored"
