package sink

import (
	"context"
	"errors"
	"log/slog"
	"unicode/utf8"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/ordersync/ordersync/shared/logging"
)

// orderID is the order a record is about: its value's string order_id field, or else
// its key, which is the order id on every ordersync topic. Empty when it has neither.
func orderID(kr *kgo.Record, value *envelope.Struct) string {
	if value != nil {
		if v, ok := value.Get("order_id"); ok {
			if id, ok := v.(string); ok && id != "" {
				return id
			}
		}
	}
	if len(kr.Key) > 0 && len(kr.Key) <= 255 && utf8.Valid(kr.Key) {
		return string(kr.Key)
	}
	return ""
}

// traceparent is the record's W3C trace context header, if it carries one. The string
// shares the header's bytes, which nothing writes to: it is for log lines, which are
// written before the record is let go.
func traceparent(kr *kgo.Record) string {
	for _, h := range kr.Headers {
		if h.Key == "traceparent" {
			return unsafe.String(unsafe.SliceData(h.Value), len(h.Value))
		}
	}
	return ""
}

// recordAttrs are the attributes of every log line about one record: order_id (when it
// has one), its topic, partition and offset, and traceparent (when present).
func recordAttrs(dst []slog.Attr, kr *kgo.Record, value *envelope.Struct) []slog.Attr {
	if id := orderID(kr, value); id != "" {
		dst = append(dst, slog.String("order_id", id))
	}
	dst = append(dst, slog.String("topic", kr.Topic), slog.Int("partition", int(kr.Partition)), slog.Int64("offset", kr.Offset))
	if tp := traceparent(kr); tp != "" {
		dst = append(dst, slog.String("traceparent", tp))
	}
	return dst
}

// logRows writes one INFO line per row a committed transaction wrote or deleted, with
// logging.LogAttrs: the next batch waits for them. The lines go out together
// (logging.Hold), not in one write each.
func (s *Sink) logRows(ctx context.Context, recs []*record) {
	log := s.log()
	if !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	defer logging.Hold(log)()
	attrs := make([]slog.Attr, 0, 8)
	for _, r := range recs {
		msg := "row written"
		if r.tombstone() {
			msg = "row deleted"
		}
		attrs = append(recordAttrs(attrs[:0], r.kr, r.value), slog.String("connector", s.cfg.Name), slog.String("table", r.table.String()))
		logging.LogAttrs(ctx, log, slog.LevelInfo, msg, attrs...)
	}
}

// A recordFault is an error that stops the sink because of one record; the line that
// logs it names the record.
type recordFault struct {
	kr  *kgo.Record
	err error
}

func (e *recordFault) Error() string { return e.err.Error() }
func (e *recordFault) Unwrap() error { return e.err }

// faultAttrs are recordAttrs of the record err is about, if it is about one.
func faultAttrs(err error) []slog.Attr {
	var f *recordFault
	if errors.As(err, &f) {
		return recordAttrs(nil, f.kr, nil)
	}
	return nil
}
