package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/metrics"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/trace"
)

// Producer is the part of *kgo.Client the handler needs: asynchronous produce with a
// promise per record, so that a batch's records are produced while the rest is still
// being validated, and acknowledged together. As with kgo, a record is the handler's
// again once its promise is called: the handler reuses it for a later batch.
type Producer interface {
	Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
}

// Errors that route a record to the dead-letter topic, wrapped with details.
var (
	ErrBase64 = errors.New("not valid base64")
	ErrEmpty  = errors.New("empty value")
	ErrPanic  = errors.New("record handling panicked")
)

// earlyBatch is the largest first batch routed whole before it is handed over (see
// handle): routing takes ≈ 3 µs a record on this machine, so at most ≈ 3 ms.
const earlyBatch = 1000

// Handler validates the batches of submitted orders a Kafka trigger (Amazon MSK or
// self-managed Kafka) delivers, and publishes each record's outcome.
type Handler struct {
	Producer Producer
	Topics   kafka.Topics
	Catalog  Catalog      // nil: no catalog checks
	Log      *slog.Logger // nil: slog.Default()
	// MaxProduceWait bounds the produce when the context has no deadline (zero:
	// kafka.MaxProduceWait); with a deadline (the Lambda one) the produce ends
	// kafka.ProduceMargin before it.
	MaxProduceWait time.Duration
	// ReportBatchItemFailures answers a batch whose outputs were not all acknowledged
	// with the records to retry instead of an error. Set it only when the trigger reads
	// partial batch responses (REPORT_BATCH_ITEM_FAILURES), or it takes them for success.
	ReportBatchItemFailures bool
	// Metrics receives one document per invocation; nil records nothing.
	Metrics *metrics.Recorder

	// unsettled holds the records of an earlier invocation that answered before they
	// were all acknowledged (nil when none): kgo fails a cancelled record only at its
	// next retry, and fails the records queued behind it on the same partition with it,
	// so a redelivery produced before they settle would fail too.
	mu        sync.Mutex
	unsettled *acks

	// published is set once a batch has been acknowledged: from then on the producer
	// knows the output topics (see handle).
	published atomic.Bool

	// spare is the arena of the last batch whose outputs were all acknowledged, kept
	// for the next: a batch's arena is megabytes, and memory the process has not
	// touched yet costs a page fault per page, more than the routing it holds. It is
	// as large as the largest such batch, which the trigger bounds (6 MB of event).
	spare atomic.Pointer[arena]
}

// Result counts what one invocation published.
type Result struct {
	Records      int `json:"records"`
	Accepted     int `json:"accepted"`
	Rejected     int `json:"rejected"`
	DeadLettered int `json:"deadLettered"`
	// BatchItemFailures is the partial batch response: set only with
	// ReportBatchItemFailures, when some outputs were not acknowledged. (A pointer keeps
	// Result comparable.)
	BatchItemFailures *[]ItemFailure `json:"batchItemFailures,omitempty"`
}

// outcome is where one input record went.
type outcome int

const (
	accepted outcome = iota
	rejected
	deadLettered
)

// Handle validates every record of the batch, in partition order, and produces one
// output record for each: ACCEPTED orders to Topics.Orders, REJECTED ones (with a reason)
// to Topics.Rejected and undecodable records to Topics.DLQ. It returns only after every
// output record is acknowledged; if any produce fails it returns an error, so that the
// trigger delivers the batch again. Outputs depend on the input alone, so a redelivered
// batch yields the same records.
func (h *Handler) Handle(ctx context.Context, ev events.KafkaEvent) (Result, error) {
	return h.handleEvent(ctx, fromEvents(ev))
}

// handleEvent is Handle on an event as decodeEvent reads it.
func (h *Handler) handleEvent(ctx context.Context, ev batchEvent) (Result, error) {
	start := time.Now()
	res, err := h.handle(ctx, ev)
	h.observe(res, start)
	return res, err
}

func (h *Handler) handle(ctx context.Context, ev batchEvent) (Result, error) {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With(slog.String("request_id", lc.AwsRequestID))
	}

	in := batch(ev)
	res := Result{Records: len(in)}
	pctx, cancel := h.produceContext(ctx)
	defer cancel()

	// Every output record is handed to the producer as soon as it is built; the client
	// batches them per partition and pipelines the requests. The invocation answers once
	// every record is acknowledged, or at the produce deadline, whichever comes first.
	if err := h.settle(pctx); err != nil {
		return res, err
	}
	a := h.arena(in)
	w := newAcks(a.records)
	// A Kafka client learns a topic's partitions when the first record for it comes,
	// with a metadata request; a topic that comes while that request is out waits for
	// another, which kgo sends no sooner than 10 ms after the first. Until a batch has
	// been published, then, a batch small enough to route in a few milliseconds is
	// routed whole first and handed over at once, so that one request covers every
	// topic it goes to; a larger one overlaps routing with sending from the start, which
	// saves more than the wait costs it.
	early := !h.published.Load() && len(in) <= earlyBatch
	// The records' log lines go out together once they are routed: one write per line
	// would cost more than the routing.
	release := logging.Hold(log)
	defer release()
	for i := range in {
		rec := &a.records[i]
		switch h.route(ctx, &in[i], rec, a, log) {
		case accepted:
			res.Accepted++
		case rejected:
			res.Rejected++
		case deadLettered:
			res.DeadLettered++
		}
		w.topics[i] = rec.Topic
		if !early {
			h.Producer.Produce(pctx, rec, w.promise)
		}
	}
	release()
	if early {
		for i := range a.records {
			h.Producer.Produce(pctx, &a.records[i], w.promise)
		}
	}
	if err := w.wait(pctx, in); err != nil {
		h.mu.Lock()
		h.unsettled = w
		h.mu.Unlock()
		if h.ReportBatchItemFailures {
			return h.partial(res, in, w, err, log), nil
		}
		return res, err
	}
	h.published.Store(true)
	// Every promise has been called, so kgo holds none of the arena's records.
	a.reset()
	h.spare.Store(a)
	log.Info("batch published", slog.String("event_source", ev.source),
		slog.Int("records", res.Records), slog.Int("accepted", res.Accepted),
		slog.Int("rejected", res.Rejected), slog.Int("dead_lettered", res.DeadLettered))
	return res, nil
}

// settle waits until the records an earlier invocation left in flight are acknowledged
// or failed, or ctx ends.
func (h *Handler) settle(ctx context.Context) error {
	h.mu.Lock()
	w := h.unsettled
	h.mu.Unlock()
	if w == nil {
		return nil
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		return fmt.Errorf("%w: records of an earlier delivery still in flight: %w", ErrNotAcknowledged, ctx.Err())
	}
	h.mu.Lock()
	if h.unsettled == w {
		h.unsettled = nil
	}
	h.mu.Unlock()
	return nil
}

// batch returns the records of ev in a deterministic order: by topic, partition and
// offset, whatever order the trigger's "topic-partition" map holds them in.
func batch(ev batchEvent) []record {
	all := make([]record, 0, ev.len())
	for _, k := range slices.Sorted(maps.Keys(ev.records)) {
		all = append(all, ev.records[k]...)
	}
	slices.SortStableFunc(all, func(a, b record) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
	})
	return all
}

func (h *Handler) produceContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-kafka.ProduceMargin))
	}
	return context.WithTimeout(ctx, cmp.Or(h.MaxProduceWait, kafka.MaxProduceWait))
}

// route builds into rec the output record of one input record. A record that cannot be
// handled at all, even one that makes the code panic, goes to the dead-letter topic: one
// poison record never blocks its batch.
func (h *Handler) route(ctx context.Context, r *record, rec *kgo.Record, a *arena, log *slog.Logger) (o outcome) {
	headers, tp := a.recordHeaders(r.Headers)
	key, keyErr := a.decodeBase64(r.Key)
	value, valueErr := a.decodeBase64(r.Value)
	deadLetter := func(cause error) outcome {
		h.deadLetter(ctx, r, rec, key, value, tp, cause, log)
		return deadLettered
	}
	defer func() {
		if p := recover(); p != nil {
			o = deadLetter(fmt.Errorf("%w: %v", ErrPanic, p))
		}
	}()
	switch {
	case keyErr != nil:
		return deadLetter(fmt.Errorf("key: %w", keyErr))
	case valueErr != nil:
		return deadLetter(fmt.Errorf("value: %w", valueErr))
	case len(value) == 0:
		return deadLetter(fmt.Errorf("value: %w", ErrEmpty))
	}
	ord := a.order()
	if err := order.Codec.Decode(value, ord); err != nil {
		return deadLetter(fmt.Errorf("value: %w", err))
	}

	topic, event, o := h.Topics.Orders, eventAccepted, accepted
	if errs := h.check(ord, key); len(errs) > 0 {
		topic, event, o = h.Topics.Rejected, eventRejected, rejected
		ord.Status, ord.Reason = order.Rejected, reason(errs)
	} else {
		ord.Status, ord.Reason = order.Accepted, ""
	}
	out, err := a.encode(ord)
	if err != nil {
		return deadLetter(fmt.Errorf("encode %s order: %w", ord.Status, err))
	}
	if o == rejected {
		logging.LogAttrs(ctx, log, slog.LevelInfo, "order rejected", slog.String("order_id", ord.OrderID), slog.String("reason", ord.Reason), tp)
	} else {
		logging.LogAttrs(ctx, log, slog.LevelInfo, "order accepted", slog.String("order_id", ord.OrderID), tp)
	}
	*rec = kgo.Record{
		Topic:     topic,
		Key:       key,
		Value:     out,
		Headers:   append(headers, kgo.RecordHeader{Key: order.HeaderEvent, Value: event}),
		Timestamp: r.Timestamp,
	}
	return o
}

// tracedAttr is a record's W3C trace context as a log attribute, so that a line about
// an order names its trace (recordHeaders gives a record without one the empty
// attribute, which handlers drop). The string shares the header's bytes, which
// nothing writes to: the event's, kept whole until the invocation ends.
func tracedAttr(traceparent []byte) slog.Attr {
	return slog.String(trace.HeaderTraceparent, unsafe.String(unsafe.SliceData(traceparent), len(traceparent)))
}

// check returns the rules the submitted order breaks: docs/http-api.md's (order.Check), a
// status other than PENDING, a record key that is not the order id, and the catalog's.
func (h *Handler) check(o *order.Order, key []byte) []order.FieldError {
	var errs []order.FieldError
	productOK := true
	for _, fe := range o.Check() {
		switch fe.Field {
		case "status":
			continue // reported below, more precisely
		case "product_id":
			productOK = false
		}
		errs = append(errs, fe)
	}
	if o.Status != order.Pending {
		errs = append(errs, order.FieldError{Field: "status", Message: fmt.Sprintf("must be %s, not %q", order.Pending, o.Status)})
	}
	if string(key) != o.OrderID {
		errs = append(errs, order.FieldError{Field: "key", Message: "must be the order id"})
	}
	if h.Catalog != nil && productOK {
		errs = append(errs, h.Catalog.Check(o)...)
	}
	return errs
}

// reason joins broken rules into a rejected order's reason.
func reason(errs []order.FieldError) string {
	parts := make([]string, len(errs))
	for i, fe := range errs {
		parts[i] = fe.Error()
	}
	return strings.Join(parts, "; ")
}

// deadLetter builds the dead-letter record of r: its original key, value and headers, plus
// the error and where the record came from. Where the trigger's base64 could not be
// decoded, the text as delivered stands in for the bytes. tp is the record's trace, as
// recordHeaders gives it.
func (h *Handler) deadLetter(ctx context.Context, r *record, rec *kgo.Record, key, value []byte, tp slog.Attr, cause error, log *slog.Logger) {
	// What did not decode, or decoded to nothing from text that was not empty (base64
	// decoding skips line breaks), is carried as the trigger delivered it.
	if len(key) == 0 && r.Key != "" {
		key = []byte(r.Key)
	}
	if len(value) == 0 && r.Value != "" {
		value = []byte(r.Value)
	}
	// The key of a submitted record is its order id: a dead letter's line carries it too,
	// so that one grep for an order id finds every outcome.
	logging.LogAttrs(ctx, log, slog.LevelWarn, "record dead-lettered", slog.String("order_id", string(key)), slog.String("topic", r.Topic),
		slog.Int64("partition", r.Partition), slog.Int64("offset", r.Offset), slog.String("error", cause.Error()), tp)
	// Clipped, the event's headers are not written to: appending copies them.
	hs := slices.Clip(r.Headers)
	hs = append(hs,
		kgo.RecordHeader{Key: order.HeaderError, Value: []byte(cause.Error())},
		kgo.RecordHeader{Key: order.HeaderSourceTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: order.HeaderSourcePartition, Value: strconv.AppendInt(nil, r.Partition, 10)},
		kgo.RecordHeader{Key: order.HeaderSourceOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
	)
	key, value, hs = fitDeadLetter(key, value, hs)
	*rec = kgo.Record{Topic: h.Topics.DLQ, Key: key, Value: value, Headers: hs, Timestamp: r.Timestamp}
}

// maxDeadLetter bounds a dead letter's key, value and headers together, well below the
// producer's and the broker's default record limit (about 1 MB). The source record may
// sit just under the broker's limit; forwarded whole with the added headers it would be
// refused, the batch would fail, and the trigger would redeliver it for ever.
const maxDeadLetter = 900_000

// fitDeadLetter cuts the value, then the key, of a dead letter over maxDeadLetter,
// recording each original length in a header, so that a poison record never blocks its
// partition.
func fitDeadLetter(key, value []byte, hs []kgo.RecordHeader) ([]byte, []byte, []kgo.RecordHeader) {
	size := len(key) + len(value)
	for _, h := range hs {
		size += len(h.Key) + len(h.Value)
	}
	over := size - maxDeadLetter
	if over <= 0 {
		return key, value, hs
	}
	if len(value) > 0 {
		cut := min(over, len(value))
		hs = append(hs, kgo.RecordHeader{Key: order.HeaderValueTruncated, Value: strconv.AppendInt(nil, int64(len(value)), 10)})
		value, over = value[:len(value)-cut], over-cut
	}
	if over > 0 && len(key) > 0 {
		cut := min(over, len(key))
		hs = append(hs, kgo.RecordHeader{Key: order.HeaderKeyTruncated, Value: strconv.AppendInt(nil, int64(len(key)), 10)})
		key = key[:len(key)-cut]
	}
	return key, value, hs
}

// arena holds what one batch needs, carved out of a few large allocations instead of
// several per record: decoded keys and values, encoded outputs, orders, output records
// and their headers. A slice handed out is capped at its own length, so later carving
// never writes into it; everything lives until the records are produced.
type arena struct {
	in      []byte             // decoded keys and values
	out     []byte             // encoded order envelopes
	orders  []order.Order      // decoded orders, one per record at most
	records []kgo.Record       // output records, one per input record
	headers []kgo.RecordHeader // output headers
}

// arena returns an arena for rs: the spare one where it is large enough, with what
// it lacks made anew.
func (h *Handler) arena(rs []record) *arena {
	var n, hs int
	for i := range rs {
		n += base64.StdEncoding.DecodedLen(len(rs[i].Key)) + base64.StdEncoding.DecodedLen(len(rs[i].Value))
		hs += len(rs[i].Headers) + 1 // and room for ordersync-event
	}
	a := h.spare.Swap(nil)
	if a == nil {
		a = &arena{}
	}
	if cap(a.in) < n {
		a.in = make([]byte, 0, n)
	}
	if cap(a.out) < n+n/8 {
		a.out = make([]byte, 0, n+n/8)
	}
	if cap(a.orders) < len(rs) {
		a.orders = make([]order.Order, 0, len(rs))
	}
	if cap(a.records) < len(rs) {
		a.records = make([]kgo.Record, len(rs))
	}
	a.records = a.records[:len(rs)]
	if cap(a.headers) < hs {
		a.headers = make([]kgo.RecordHeader, 0, hs)
	}
	return a
}

// reset empties a for another batch, zeroing what points elsewhere (the event's
// header bytes, record contexts) so that a kept arena holds nothing of its batch alive.
func (a *arena) reset() {
	clear(a.orders[:cap(a.orders)])
	clear(a.records[:cap(a.records)])
	clear(a.headers[:cap(a.headers)])
	a.in, a.out, a.orders, a.records, a.headers = a.in[:0], a.out[:0], a.orders[:0], a.records[:0], a.headers[:0]
}

// order returns a zero order of the arena's.
func (a *arena) order() *order.Order {
	a.orders = append(a.orders, order.Order{})
	return &a.orders[len(a.orders)-1]
}

// recordHeaders copies a record's headers into the arena, but for ordersync-event,
// which the output record sets anew, and returns them with room for one more header,
// and the record's trace as tracedAttr gives it (the first traceparent's): one pass
// over the headers, not three.
func (a *arena) recordHeaders(in []kgo.RecordHeader) ([]kgo.RecordHeader, slog.Attr) {
	start := len(a.headers)
	var tp slog.Attr
	for _, h := range in {
		switch h.Key {
		case order.HeaderEvent:
			continue
		case trace.HeaderTraceparent:
			if tp.Key == "" {
				tp = tracedAttr(h.Value)
			}
		}
		a.headers = append(a.headers, h)
	}
	end := len(a.headers)
	a.headers = append(a.headers, kgo.RecordHeader{}) // the room for one more
	return a.headers[start:end:min(end+1, cap(a.headers))], tp
}

// decodeBase64 decodes a key or value as the trigger delivers it; "" (no key) is nil.
func (a *arena) decodeBase64(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	start := len(a.in)
	a.in = slices.Grow(a.in, base64.StdEncoding.DecodedLen(len(s)))
	// The string's bytes are only read: no copy of the base64 text.
	n, err := base64.StdEncoding.AppendDecode(a.in, unsafe.Slice(unsafe.StringData(s), len(s)))
	if err != nil {
		a.in = a.in[:start]
		return nil, fmt.Errorf("%w: %v", ErrBase64, err)
	}
	a.in = n
	return a.in[start:len(a.in):len(a.in)], nil
}

// encode appends o's envelope.
func (a *arena) encode(o *order.Order) ([]byte, error) {
	start := len(a.out)
	out, err := order.Codec.Append(a.out, o)
	if err != nil {
		return nil, err
	}
	a.out = out
	return a.out[start:len(a.out):len(a.out)], nil
}

// Values of the ordersync-event header, shared by every record (never written to).
var (
	eventAccepted = []byte(order.EventAccepted)
	eventRejected = []byte(order.EventRejected)
)
