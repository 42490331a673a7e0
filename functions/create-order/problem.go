package main

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/order"
)

// problem answers a client error (4xx) and logs it at info level.
func (h *Handler) problem(ctx context.Context, requestID string, p httpapi.Problem, detail string) (events.APIGatewayV2HTTPResponse, error) {
	logging.LogAttrs(ctx, h.log, slog.LevelInfo, "request refused",
		slog.String("request_id", requestID), slog.Int("status", p.Status), slog.String("detail", detail))
	return p.Response(detail, nil), nil
}

// invalid answers 422 with every broken rule.
func (h *Handler) invalid(ctx context.Context, requestID string, errs []order.FieldError) (events.APIGatewayV2HTTPResponse, error) {
	detail := "the order breaks " + strconv.Itoa(len(errs)) + " rules"
	if len(errs) == 1 {
		detail = "the order breaks 1 rule"
	}
	logging.LogAttrs(ctx, h.log, slog.LevelInfo, "request refused",
		slog.String("request_id", requestID), slog.Int("status", 422), slog.String("detail", detail))
	return httpapi.InvalidOrder.Response(detail, errs), nil
}

// internal answers 500 without saying why; the log says why.
func (h *Handler) internal(ctx context.Context, requestID, orderID, what string, err error) (events.APIGatewayV2HTTPResponse, error) {
	logging.LogAttrs(ctx, h.log, slog.LevelError, what+" failed",
		slog.String("request_id", requestID), slog.String("order_id", orderID), slog.Any("error", err))
	return httpapi.Internal.Response(internalDetail, nil), nil
}

const internalDetail = "the order could not be taken; nothing was stored"
