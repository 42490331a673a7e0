package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/ordersync/ordersync/shared/trace"
)

// Invoke is the function's entry point: the trigger's event as the runtime delivers it,
// its JSON, in; the Result's JSON out. It reads the event with the envelope's JSON syntax
// layer rather than encoding/json's reflection, which spends more time on a batch than
// the handler does: a record's headers come as arrays of numbers, one per byte, each of
// which encoding/json decodes through its own call.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	ev, err := decodeEvent(payload)
	if err != nil {
		return nil, err
	}
	res, err := h.handleEvent(ctx, ev)
	if err != nil {
		return nil, err
	}
	return res.appendJSON(make([]byte, 0, 128)), nil
}

// batchEvent is a Kafka trigger's event as the handler reads it: the records keyed by
// "topic-partition", as the trigger sends them, each with its headers as Kafka headers.
type batchEvent struct {
	source  string // eventSource
	records map[string][]record
}

// len is the number of records in ev.
func (ev batchEvent) len() int {
	var n int
	for _, rs := range ev.records {
		n += len(rs)
	}
	return n
}

// record is one record of a batch: its key and value as the trigger delivers them
// (base64), and its headers in their order. decodeEvent carves a batch's headers, in
// order, out of one growing array, and their values out of another: a record's headers
// lie next to the next record's, as the handler reads them, not in maps of their own.
type record struct {
	Topic     string
	Partition int64
	Offset    int64
	Timestamp time.Time
	Key       string
	Value     string
	Headers   []kgo.RecordHeader
}

// fromEvents is ev as the handler reads it: a header map with several names gives
// them in sorted order, and a batch with no headers has nil.
func fromEvents(ev events.KafkaEvent) batchEvent {
	b := batchEvent{source: ev.EventSource}
	if ev.Records == nil {
		return b
	}
	b.records = make(map[string][]record, len(ev.Records))
	for k, rs := range ev.Records {
		if rs == nil {
			b.records[k] = nil
			continue
		}
		out := make([]record, len(rs))
		for i, r := range rs {
			out[i] = record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp.Time, Key: r.Key, Value: r.Value}
			for _, m := range r.Headers {
				for _, name := range slices.Sorted(maps.Keys(m)) {
					out[i].Headers = append(out[i].Headers, kgo.RecordHeader{Key: name, Value: []byte(m[name])})
				}
			}
		}
		b.records[k] = out
	}
	return b
}

// decodeEvent reads a Kafka trigger's event (Amazon MSK or self-managed Kafka) as
// encoding/json reads it into events.KafkaEvent, and fromEvents turns that into the
// handler's, as FuzzDecodeEvent checks: a member is matched by its name, exactly or
// else ignoring case; an unknown one is skipped; null leaves a string or a number as
// it is and empties a list or a map. A record's timestamp is milliseconds since the
// epoch, and a header's value an array of signed bytes (-128 to 127), as the trigger
// writes them. Malformed JSON (invalid UTF-8 included), a member of the wrong type and
// a member name given twice in one object are errors.
func decodeEvent(payload []byte) (batchEvent, error) {
	var ev batchEvent
	// An event's strings, unescaped, take no more room than its text.
	d := eventReader{strs: make([]byte, 0, len(payload))}
	err := envelope.ReadObject(payload, func(name []byte, v *envelope.Value) error {
		switch envelope.MemberName(name, eventMembers) {
		case "eventSource":
			return v.SetText(&ev.source)
		case "eventSourceArn", "bootstrapServers":
			var s string // checked, not used
			return v.SetText(&s)
		case "records":
			return d.records(v, &ev)
		}
		return nil
	})
	if err != nil {
		return batchEvent{}, fmt.Errorf("kafka event: %w", err)
	}
	return ev, nil
}

// eventReader holds the arrays decodeEvent carves the records' strings, headers and
// header values out of, a slice of each per record. The strings take one allocation
// instead of four per record, and a batch's keys and values lie in record order, as
// the handler decodes them, not wherever the heap has room: in a heap where earlier
// allocations left holes, a record's value lay next to the next one's for half the
// records or fewer. Bytes carved into a string that is kept are never written again.
type eventReader struct {
	strs      []byte
	bytes     []byte
	hs        []kgo.RecordHeader
	lastTopic string // the last record's topic, shared by the next ones of the same
}

// text reads a string into s, carved out of d.strs; null leaves s as it is.
func (d *eventReader) text(v *envelope.Value, s *string) error {
	if null, err := v.Null(); null || err != nil {
		return err
	}
	start := len(d.strs)
	var err error
	if d.strs, err = v.AppendText(d.strs); err != nil {
		return err
	}
	t := d.strs[start:]
	*s = unsafe.String(unsafe.SliceData(t), len(t))
	return nil
}

// topic reads a record's topic: the same string for a run of records of one topic.
func (d *eventReader) topic(v *envelope.Value, s *string) error {
	start := len(d.strs)
	if err := d.text(v, s); err != nil || len(d.strs) == start {
		return err
	}
	if *s == d.lastTopic {
		*s = d.lastTopic
		d.strs = d.strs[:start]
	}
	d.lastTopic = *s
	return nil
}

// records reads the event's records: arrays of records, keyed by "topic-partition".
func (d *eventReader) records(v *envelope.Value, ev *batchEvent) error {
	if null, err := v.Null(); null || err != nil {
		ev.records = nil
		return err
	}
	if ev.records == nil {
		ev.records = map[string][]record{}
	}
	return v.Object(func(name []byte, v *envelope.Value) error {
		key := string(name)
		var rs []record
		if null, err := v.Null(); err != nil {
			return err
		} else if !null {
			rs = []record{}
			err := v.Array(func(v *envelope.Value) error {
				rs = append(rs, record{})
				return d.record(v, &rs[len(rs)-1])
			})
			if err != nil {
				return at(key, err)
			}
		}
		ev.records[key] = rs
		return nil
	})
}

// record reads one record.
func (d *eventReader) record(v *envelope.Value, r *record) error {
	if null, err := v.Null(); null || err != nil {
		return err
	}
	return v.Object(func(name []byte, v *envelope.Value) (err error) {
		switch envelope.MemberName(name, recordMembers) {
		case "topic":
			err = d.topic(v, &r.Topic)
		case "partition":
			err = v.SetInt(envelope.Int64, &r.Partition)
		case "offset":
			err = v.SetInt(envelope.Int64, &r.Offset)
		case "timestamp":
			// As events.MilliSecondsEpochTime reads it: null is the epoch.
			var ms int64
			if err = v.SetInt(envelope.Int64, &ms); err == nil {
				r.Timestamp = time.UnixMilli(ms)
			}
		case "timestampType":
			var s string // checked, not used
			start := len(d.strs)
			err = d.text(v, &s)
			d.strs = d.strs[:start]
		case "key":
			err = d.text(v, &r.Key)
		case "value":
			err = d.text(v, &r.Value)
		case "headers":
			err = d.headers(v, r)
		}
		if err != nil {
			return at(string(name), err)
		}
		return nil
	})
}

// headers reads a record's headers: an array of objects of header names and values, each
// value an array of signed bytes. The names of an object with several come in sorted
// order, as from a map.
func (d *eventReader) headers(v *envelope.Value, r *record) error {
	r.Headers = nil
	if null, err := v.Null(); null || err != nil {
		return err
	}
	start := len(d.hs)
	err := v.Array(func(v *envelope.Value) error {
		if null, err := v.Null(); null || err != nil {
			return err
		}
		first := len(d.hs)
		err := v.Object(func(name []byte, v *envelope.Value) error {
			b, err := d.signedBytes(v)
			if err != nil {
				return at(string(name), err)
			}
			d.hs = append(d.hs, kgo.RecordHeader{Key: headerName(name), Value: b})
			return nil
		})
		if hs := d.hs[first:]; len(hs) > 1 {
			slices.SortFunc(hs, func(a, b kgo.RecordHeader) int { return strings.Compare(a.Key, b.Key) })
		}
		return err
	})
	if len(d.hs) > start {
		r.Headers = d.hs[start:len(d.hs):len(d.hs)]
	}
	return err
}

// headerName is name as a string, without a copy for the names ordersync writes.
func headerName(name []byte) string {
	switch string(name) {
	case order.HeaderEvent:
		return order.HeaderEvent
	case trace.HeaderTraceparent:
		return trace.HeaderTraceparent
	case trace.HeaderXRay:
		return trace.HeaderXRay
	}
	return string(name)
}

// signedBytes reads an array of signed bytes, as events.JSONNumberBytes does: null
// reads as no bytes.
func (d *eventReader) signedBytes(v *envelope.Value) (events.JSONNumberBytes, error) {
	if null, err := v.Null(); null || err != nil {
		return events.JSONNumberBytes{}, err
	}
	start := len(d.bytes)
	var err error
	d.bytes, err = v.SignedBytes(d.bytes)
	if d.bytes == nil {
		return events.JSONNumberBytes{}, err // [] before any byte
	}
	return d.bytes[start:len(d.bytes):len(d.bytes)], err
}

// The members of an event and of a record, as events.KafkaEvent names them.
var (
	eventMembers  = []string{"eventSource", "eventSourceArn", "bootstrapServers", "records"}
	recordMembers = []string{"topic", "partition", "offset", "timestamp", "timestampType", "key", "value", "headers"}
)

// at names the member or element an error was found in.
func at(name string, err error) error {
	return fmt.Errorf("%s: %w", name, err)
}

// appendJSON appends the Result as encoding/json would write it.
func (r Result) appendJSON(b []byte) []byte {
	b = append(b, `{"records":`...)
	b = strconv.AppendInt(b, int64(r.Records), 10)
	b = append(b, `,"accepted":`...)
	b = strconv.AppendInt(b, int64(r.Accepted), 10)
	b = append(b, `,"rejected":`...)
	b = strconv.AppendInt(b, int64(r.Rejected), 10)
	b = append(b, `,"deadLettered":`...)
	b = strconv.AppendInt(b, int64(r.DeadLettered), 10)
	switch {
	case r.BatchItemFailures == nil:
	case *r.BatchItemFailures == nil:
		b = append(b, `,"batchItemFailures":null`...)
	default:
		b = append(b, `,"batchItemFailures":[`...)
		for i, f := range *r.BatchItemFailures {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"itemIdentifier":{"partition":`...)
			b = envelope.AppendString(b, f.ItemIdentifier.Partition)
			b = append(b, `,"offset":`...)
			b = strconv.AppendInt(b, f.ItemIdentifier.Offset, 10)
			b = append(b, `}}`...)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
