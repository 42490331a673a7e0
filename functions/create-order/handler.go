package main

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/metrics"
	"github.com/ordersync/ordersync/shared/order"
)

// MaxBody is the largest request body accepted (after base64 decoding); larger bodies
// get 413.
const MaxBody = 64 << 10

// producer is what the handler needs of a Kafka client (*kgo.Client has it): an
// asynchronous produce whose promise is called once the record is acknowledged or has
// failed.
type producer interface {
	Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
}

// Handler takes orders over HTTP (API Gateway HTTP API, payload format 2.0) and
// publishes each one as an OrderSubmitted record.
type Handler struct {
	producer producer
	topic    string
	log      *slog.Logger

	// Now and NewID are the clock and the id source; tests pin them.
	Now   func() time.Time
	NewID func(userID, idempotencyKey string) string
	// Metrics receives one document per invocation; nil records nothing.
	Metrics *metrics.Recorder
}

// NewHandler returns a handler that produces to topic through p and logs to log.
func NewHandler(p producer, topic string, log *slog.Logger) *Handler {
	return &Handler{producer: p, topic: topic, log: log, Now: time.Now, NewID: order.ID}
}

// eventSubmitted is the one header of every record; kgo only reads it.
var eventSubmitted = []kgo.RecordHeader{{Key: order.HeaderEvent, Value: []byte(order.EventSubmitted)}}

// buffers holds request-sized scratch space: a decoded base64 body, the record value,
// the response body. A buffer goes back only once the record's promise has been called,
// when kgo has let go of the record.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// serve answers one request; Handle adds its metrics.
func (h *Handler) serve(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	requestID := logging.RequestID(ctx)

	userID, refused := httpapi.User(&req)
	if refused != "" {
		return h.problem(ctx, requestID, httpapi.Forbidden, refused)
	}

	if !jsonMediaType(header(req.Headers, "content-type")) {
		return h.problem(ctx, requestID, httpapi.UnsupportedMediaType, "Content-Type must be application/json")
	}

	// Size before anything is parsed or decoded.
	body := req.Body
	if req.IsBase64Encoded {
		if len(body) > base64.StdEncoding.EncodedLen(MaxBody) {
			return h.problem(ctx, requestID, httpapi.BodyTooLarge, tooLarge)
		}
		bp := buffers.Get().(*[]byte)
		defer buffers.Put(bp)
		buf := (*bp)[:0]
		if n := base64.StdEncoding.DecodedLen(len(body)); cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:cap(buf)]
		n, err := base64.StdEncoding.Decode(buf, bytesOf(body))
		if err != nil {
			return h.problem(ctx, requestID, httpapi.MalformedBody, "the base64 body does not decode")
		}
		*bp = buf[:0]
		if n > MaxBody { // the encoded length allows up to two bytes more
			return h.problem(ctx, requestID, httpapi.BodyTooLarge, tooLarge)
		}
		return h.handle(ctx, requestID, &req, userID, buf[:n])
	}
	if len(body) > MaxBody {
		return h.problem(ctx, requestID, httpapi.BodyTooLarge, tooLarge)
	}
	return h.handle(ctx, requestID, &req, userID, bytesOf(body))
}

// bytesOf returns the bytes of s without copying them; they are only ever read.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

const tooLarge = "the body is larger than 64 KiB"

// handle serves a request whose body is at most MaxBody bytes.
func (h *Handler) handle(ctx context.Context, requestID string, req *events.APIGatewayV2HTTPRequest, userID string, body []byte) (events.APIGatewayV2HTTPResponse, error) {
	if len(body) == 0 {
		return h.problem(ctx, requestID, httpapi.MalformedBody, "the body is empty")
	}
	var r order.Request
	switch err := r.UnmarshalJSON(body); {
	case errors.Is(err, order.ErrNotObject):
		return h.problem(ctx, requestID, httpapi.MalformedBody, "the body must be a JSON object")
	case errors.Is(err, order.ErrDuplicate):
		return h.problem(ctx, requestID, httpapi.MalformedBody, duplicateDetail(err))
	case err != nil:
		return h.problem(ctx, requestID, httpapi.MalformedBody, "the body is not valid JSON")
	}

	o, errs := r.Order(userID, "", h.Now())
	key, hasKey := lookup(req.Headers, "idempotency-key")
	if hasKey && !order.ValidKey(key) {
		errs = append(errs, order.FieldError{Field: "Idempotency-Key", Message: "must be 1-255 visible ASCII characters"})
	}
	if errs != nil {
		return h.invalid(ctx, requestID, errs)
	}
	o.OrderID = h.NewID(userID, key)

	bp := buffers.Get().(*[]byte)
	value, err := order.Codec.Append((*bp)[:0], &o)
	if err != nil {
		buffers.Put(bp)
		return h.internal(ctx, requestID, o.OrderID, "encode order", err)
	}
	*bp = value[:0]

	// The 201 is built while the record is in flight, off the critical path; it is
	// answered only after the ack.
	var answer events.APIGatewayV2HTTPResponse
	sent := time.Now()
	err = h.produce(ctx, &kgo.Record{
		Topic:   h.topic,
		Key:     []byte(o.OrderID),
		Value:   value,
		Headers: submittedHeaders(ctx, req),
	}, func() { answer = created(&o) })
	h.Metrics.Since("ProduceLatency", sent)
	if !errors.Is(err, errAbandoned) {
		buffers.Put(bp) // kgo is done with the record
	}
	if err != nil {
		return h.notStored(ctx, requestID, o.OrderID, err)
	}

	logging.LogAttrs(ctx, h.log, slog.LevelInfo, "order submitted",
		slog.String("request_id", requestID), slog.String("order_id", o.OrderID))
	return answer, nil
}

// duplicateDetail names the member a body has twice (RFC 8259 leaves its meaning open,
// I-JSON forbids it, and parsers that keep the first or the last would read different
// orders).
func duplicateDetail(err error) string {
	var pe *envelope.PathError
	if errors.As(err, &pe) {
		return "the body has the member " + strconv.Quote(pe.Path) + " more than once"
	}
	return "the body has a member more than once"
}

// errAbandoned is returned by produce when the deadline passed before the record's
// promise was called. It wraps context.DeadlineExceeded; it is a type rather than a
// package-level fmt.Errorf, which would run fmt at every cold start.
var errAbandoned error = abandoned{}

type abandoned struct{}

func (abandoned) Error() string {
	return "record not acknowledged before the deadline: " + context.DeadlineExceeded.Error()
}
func (abandoned) Unwrap() error { return context.DeadlineExceeded }

// An ack waits for the promise of one record. Its promise is bound once, so a pooled
// ack costs no allocation per request; an abandoned ack is never pooled again, because
// its promise may still be called.
type ack struct {
	done    chan error // buffered: the promise never blocks kgo
	promise func(*kgo.Record, error)
}

var acks = sync.Pool{New: func() any {
	a := &ack{done: make(chan error, 1)}
	a.promise = func(_ *kgo.Record, err error) { a.done <- err }
	return a
}}

// produce hands r to the client, runs meanwhile while the record is in flight, and
// returns the error of its promise, or errAbandoned as soon as the produce deadline
// (kafka.ProduceContext) passes. kgo gets the same
// deadline but may notice it late (it checks it between requests and backoffs); the
// answer must not wait for that. An abandoned record stays with kgo, which fails or
// stores it shortly; its buffers are then no longer the handler's to reuse.
func (h *Handler) produce(ctx context.Context, r *kgo.Record, meanwhile func()) error {
	pctx, cancel := kafka.ProduceContext(ctx)
	defer cancel()
	a := acks.Get().(*ack)
	h.producer.Produce(pctx, r, a.promise)
	meanwhile()
	select {
	case err := <-a.done:
		acks.Put(a)
		return err
	case <-pctx.Done():
		select {
		case err := <-a.done: // finished at the same moment: take its answer
			acks.Put(a)
			return err
		default:
			return errAbandoned
		}
	}
}

// notStored answers a produce that failed: 500 when the topic does not exist (kgo fails
// a record with UNKNOWN_TOPIC_OR_PARTITION only once several metadata answers in a row
// said the topic is absent, which a leader move or a lost broker never causes), 503 with
// Retry-After when a retry can help, 500 for any other lasting failure.
func (h *Handler) notStored(ctx context.Context, requestID, orderID string, err error) (events.APIGatewayV2HTTPResponse, error) {
	if errors.Is(err, kerr.UnknownTopicOrPartition) || errors.Is(err, kerr.UnknownTopicID) {
		logging.LogAttrs(ctx, h.log, slog.LevelError, "produce failed: topic "+strconv.Quote(h.topic)+" does not exist",
			slog.String("request_id", requestID), slog.String("order_id", orderID), slog.String("topic", h.topic), slog.Any("error", err))
		return httpapi.Internal.Response(internalDetail, nil), nil
	}
	if unavailable(err) {
		logging.LogAttrs(ctx, h.log, slog.LevelWarn, "order not acknowledged in time",
			slog.String("request_id", requestID), slog.String("order_id", orderID), slog.Any("error", err))
		return httpapi.NotAcknowledged.Response("the order could not be stored in time; retry with the same Idempotency-Key", nil), nil
	}
	return h.internal(ctx, requestID, orderID, "produce", err)
}

// unavailable reports whether a produce error means "not acknowledged in time" (the
// deadline passed, the brokers were unreachable or busy, the client is shutting down),
// which a retry can fix, as opposed to a lasting failure.
func unavailable(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled) ||
		errors.Is(err, kgo.ErrRecordTimeout) ||
		errors.Is(err, kgo.ErrRecordRetries) ||
		errors.Is(err, kgo.ErrClientClosed) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.As(err, &netErr) ||
		kerr.IsRetriable(err)
}

// created is the 201 answer for o.
func created(o *order.Order) events.APIGatewayV2HTTPResponse {
	bp := buffers.Get().(*[]byte)
	b := o.AppendJSON((*bp)[:0])
	body := string(b)
	*bp = b[:0]
	buffers.Put(bp)
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 201,
		Headers: map[string]string{
			"Content-Type": "application/json",
			"Location":     "/order-service/" + o.UserID + "/orders/" + o.OrderID,
		},
		Body: body,
	}
}

// jsonMediaType reports whether a Content-Type is application/json or
// application/*+json, with or without parameters.
func jsonMediaType(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	sub, ok := cutPrefixFold(ct, "application/")
	if !ok {
		return false
	}
	return strings.EqualFold(sub, "json") || (len(sub) > len("+json") && strings.EqualFold(sub[len(sub)-len("+json"):], "+json") &&
		!strings.ContainsAny(sub, " /"))
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// header returns a request header. Payload 2.0 lower-cases header names; other
// senders may not, so a miss falls back to a case-insensitive search.
func header(hs map[string]string, lower string) string {
	v, _ := lookup(hs, lower)
	return v
}

func lookup(hs map[string]string, lower string) (string, bool) {
	if v, ok := hs[lower]; ok {
		return v, true
	}
	for k, v := range hs {
		if strings.EqualFold(k, lower) {
			return v, true
		}
	}
	return "", false
}
