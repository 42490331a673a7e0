package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-sql-driver/mysql"

	"github.com/ordersync/ordersync/functions/get-orders/paging"
	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/order"
)

// notFoundDetail is the 404's detail: reads are eventually consistent.
const notFoundDetail = "no such order for this user yet: an order becomes readable a moment after its 201, " +
	"once the sink has stored it; retry shortly"

// Deadlines of a request's database work.
const (
	DefaultQueryTimeout = 3 * time.Second
	// deadlineMargin is kept free before the Lambda deadline to answer 503 in time.
	deadlineMargin = 500 * time.Millisecond
)

// Handler reads orders (API Gateway HTTP API, payload format 2.0):
// GET /order-service/{userId}/orders/{orderId} and GET /order-service/{userId}/orders.
type Handler struct {
	db      *sql.DB
	cursors paging.Cursors
	log     *slog.Logger
	// QueryTimeout bounds one request's database work; the Lambda deadline (less a
	// margin) bounds it too.
	QueryTimeout time.Duration
}

// NewHandler returns a handler reading db, signing cursors with cursorKey.
func NewHandler(db *sql.DB, cursorKey []byte, log *slog.Logger) *Handler {
	return &Handler{db: db, cursors: paging.Cursors{Key: cursorKey}, log: log, QueryTimeout: DefaultQueryTimeout}
}

// Handle serves both routes.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	requestID := logging.RequestID(ctx)
	user, refused := httpapi.User(&req)
	if refused != "" {
		return h.refuse(ctx, requestID, httpapi.Forbidden.Response(refused, nil))
	}
	var errs []order.FieldError
	if !validUser(user) {
		errs = append(errs, order.FieldError{Field: "userId", Message: "must be 1–64 characters of A-Z, a-z, 0-9, _ or -"})
	}
	if raw, isOne := pathOrderID(&req); isOne {
		id, ok := parseOrderID(raw)
		if !ok {
			errs = append(errs, order.FieldError{Field: "orderId", Message: "must be a UUID (8-4-4-4-12 hexadecimal digits)"})
		}
		if errs != nil {
			return h.invalid(ctx, requestID, errs)
		}
		return h.one(ctx, requestID, user, id)
	}
	q, qerrs := h.cursors.Parse(req.QueryStringParameters, user)
	if errs = append(errs, qerrs...); errs != nil {
		return h.invalid(ctx, requestID, errs)
	}
	return h.list(ctx, requestID, user, q)
}

func (h *Handler) one(ctx context.Context, requestID, user, id string) (events.APIGatewayV2HTTPResponse, error) {
	qctx, cancel := h.budget(ctx)
	defer cancel()
	var r row
	err := retryOnce(qctx, func() error {
		var err error
		r, err = one(qctx, h.db, user, id)
		return err
	})
	switch {
	case errors.Is(err, errNotFound):
		h.log.LogAttrs(ctx, slog.LevelDebug, "order not stored (yet)",
			slog.String("request_id", requestID), slog.String("order_id", id))
		return noStore(httpapi.OrderNotFound.Response(notFoundDetail, nil)), nil
	case err != nil:
		return h.failed(ctx, requestID, id, err)
	}
	return ok(r.AppendJSON(make([]byte, 0, 320))), nil
}

func (h *Handler) list(ctx context.Context, requestID, user string, q paging.Page) (events.APIGatewayV2HTTPResponse, error) {
	qctx, cancel := h.budget(ctx)
	defer cancel()
	var rows []row
	err := retryOnce(qctx, func() error {
		var err error
		rows, err = list(qctx, h.db, user, q.After, q.Limit, rows[:0])
		return err
	})
	if err != nil {
		return h.failed(ctx, requestID, "", err)
	}
	b := make([]byte, 0, 64+300*len(rows))
	b = append(b, `{"orders":[`...)
	for i := range min(len(rows), q.Limit) {
		if i > 0 {
			b = append(b, ',')
		}
		b = rows[i].AppendJSON(b)
	}
	b = append(b, ']')
	if len(rows) > q.Limit {
		last := rows[q.Limit-1]
		b = append(b, `,"nextCursor":"`...)
		b = append(b, h.cursors.Encode(paging.Position{CreatedAt: last.CreatedAt, OrderID: last.OrderID}, user)...)
		b = append(b, '"')
	}
	return ok(append(b, '}')), nil
}

// budget is the context of a request's database work: QueryTimeout, cut short to keep
// deadlineMargin before the invocation's deadline.
func (h *Handler) budget(ctx context.Context) (context.Context, context.CancelFunc) {
	d := h.QueryTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl)-deadlineMargin)
	}
	return context.WithTimeout(ctx, d)
}

// retryOnce runs read, and runs it again once when its connection turned out to be
// broken (cut by a restart, a failover, an idle timeout) while time is left: a read is
// safe to repeat, and the pool dials a fresh connection for it.
func retryOnce(ctx context.Context, read func() error) error {
	err := read()
	if err != nil && ctx.Err() == nil && (errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn)) {
		err = read()
	}
	return err
}

// ok is a 200 with body.
func ok(body []byte) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       string(body),
	}
}

// noStore keeps caches from holding an answer: a 404 turns into a 200 a moment later.
func noStore(r events.APIGatewayV2HTTPResponse) events.APIGatewayV2HTTPResponse {
	r.Headers["Cache-Control"] = "no-store"
	return r
}

// refuse answers a client error and logs it at info level.
func (h *Handler) refuse(ctx context.Context, requestID string, r events.APIGatewayV2HTTPResponse) (events.APIGatewayV2HTTPResponse, error) {
	h.log.LogAttrs(ctx, slog.LevelInfo, "request refused",
		slog.String("request_id", requestID), slog.Int("status", r.StatusCode))
	return noStore(r), nil
}

// invalid answers 422 with every broken rule; nothing reached the database.
func (h *Handler) invalid(ctx context.Context, requestID string, errs []order.FieldError) (events.APIGatewayV2HTTPResponse, error) {
	detail := "the request breaks " + strconv.Itoa(len(errs)) + " rules"
	if len(errs) == 1 {
		detail = "the request breaks 1 rule"
	}
	return h.refuse(ctx, requestID, httpapi.InvalidRequest.Response(detail, errs))
}

// failed answers a database error: 503 with Retry-After when it may pass (the database
// down, unreachable, stalled, restarting, overloaded), 500 otherwise. Neither says why;
// the log does.
func (h *Handler) failed(ctx context.Context, requestID, orderID string, err error) (events.APIGatewayV2HTTPResponse, error) {
	attrs := []slog.Attr{slog.String("request_id", requestID), slog.Any("error", err)}
	if orderID != "" {
		attrs = append(attrs, slog.String("order_id", orderID))
	}
	if transient(err) {
		h.log.LogAttrs(ctx, slog.LevelWarn, "database unavailable", attrs...)
		return noStore(httpapi.DatabaseUnavailable.Response("the orders could not be read in time; retry shortly", nil)), nil
	}
	h.log.LogAttrs(ctx, slog.LevelError, "read failed", attrs...)
	return noStore(httpapi.Internal.Response("the orders could not be read", nil)), nil
}

// transient reports whether a database error may pass on retry. Every error without a
// server error number is one (dial, TLS, timeouts, cut connections, the deadline);
// of the server's errors, those of load, restarts and interrupted sessions are.
func transient(err error) bool {
	if errors.Is(err, errStored) {
		return false
	}
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return true
	}
	switch me.Number {
	case 1040, // too many connections
		1045, // access denied: a password being rotated, an IAM token not yet valid
		1053, // server shutdown in progress
		1205, // lock wait timeout
		1213, // deadlock
		1226, // user resource limit
		1317, // query interrupted
		1927, // connection killed (MariaDB)
		1969, // statement timeout (MariaDB max_statement_time)
		3024, // statement timeout (MySQL max_execution_time)
		4031: // disconnected by the server for inactivity
		return true
	}
	return false
}
