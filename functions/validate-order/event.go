package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/envelope"
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
	res, err := h.Handle(ctx, ev)
	if err != nil {
		return nil, err
	}
	return res.appendJSON(make([]byte, 0, 128)), nil
}

// decodeEvent reads a Kafka trigger's event (Amazon MSK or self-managed Kafka) into the
// events.KafkaEvent that encoding/json would make of it, as FuzzDecodeEvent checks: a
// member is matched by its name, exactly or else ignoring case; an unknown one is
// skipped; null leaves a string or a number as it is and empties a list or a map. A
// record's timestamp is milliseconds since the epoch, and a header's value an array of
// signed bytes (-128 to 127), as the trigger writes them. Malformed JSON (invalid UTF-8
// included), a member of the wrong type and a member name given twice in one object are
// errors.
func decodeEvent(payload []byte) (events.KafkaEvent, error) {
	var (
		ev events.KafkaEvent
		d  eventReader
	)
	err := envelope.ReadObject(payload, func(name []byte, v *envelope.Value) error {
		switch envelope.MemberName(name, eventMembers) {
		case "eventSource":
			return v.SetText(&ev.EventSource)
		case "eventSourceArn":
			return v.SetText(&ev.EventSourceARN)
		case "bootstrapServers":
			return v.SetText(&ev.BootstrapServers)
		case "records":
			return d.records(v, &ev)
		}
		return nil
	})
	if err != nil {
		return events.KafkaEvent{}, fmt.Errorf("kafka event: %w", err)
	}
	return ev, nil
}

// eventReader holds what decodeEvent reads into: the header values of all the records
// share one array, a slice of it each.
type eventReader struct {
	bytes []byte
}

// records reads the event's records: arrays of records, keyed by "topic-partition".
func (d *eventReader) records(v *envelope.Value, ev *events.KafkaEvent) error {
	if null, err := v.Null(); null || err != nil {
		ev.Records = nil
		return err
	}
	if ev.Records == nil {
		ev.Records = map[string][]events.KafkaRecord{}
	}
	return v.Object(func(name []byte, v *envelope.Value) error {
		key := string(name)
		var rs []events.KafkaRecord
		if null, err := v.Null(); err != nil {
			return err
		} else if !null {
			rs = []events.KafkaRecord{}
			err := v.Array(func(v *envelope.Value) error {
				rs = append(rs, events.KafkaRecord{})
				return d.record(v, &rs[len(rs)-1])
			})
			if err != nil {
				return at(key, err)
			}
		}
		ev.Records[key] = rs
		return nil
	})
}

// record reads one record.
func (d *eventReader) record(v *envelope.Value, r *events.KafkaRecord) error {
	if null, err := v.Null(); null || err != nil {
		return err
	}
	return v.Object(func(name []byte, v *envelope.Value) (err error) {
		switch envelope.MemberName(name, recordMembers) {
		case "topic":
			err = v.SetText(&r.Topic)
		case "partition":
			err = v.SetInt(envelope.Int64, &r.Partition)
		case "offset":
			err = v.SetInt(envelope.Int64, &r.Offset)
		case "timestamp":
			// As events.MilliSecondsEpochTime reads it: null is the epoch.
			var ms int64
			if err = v.SetInt(envelope.Int64, &ms); err == nil {
				r.Timestamp = events.MilliSecondsEpochTime{Time: time.UnixMilli(ms)}
			}
		case "timestampType":
			err = v.SetText(&r.TimestampType)
		case "key":
			err = v.SetText(&r.Key)
		case "value":
			err = v.SetText(&r.Value)
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
// value an array of signed bytes.
func (d *eventReader) headers(v *envelope.Value, r *events.KafkaRecord) error {
	if null, err := v.Null(); null || err != nil {
		r.Headers = nil
		return err
	}
	r.Headers = []map[string]events.JSONNumberBytes{}
	return v.Array(func(v *envelope.Value) error {
		var m map[string]events.JSONNumberBytes
		if null, err := v.Null(); err != nil {
			return err
		} else if !null {
			m = make(map[string]events.JSONNumberBytes, 1)
			err := v.Object(func(name []byte, v *envelope.Value) error {
				b, err := d.signedBytes(v)
				if err != nil {
					return at(string(name), err)
				}
				m[string(name)] = b
				return nil
			})
			if err != nil {
				return err
			}
		}
		r.Headers = append(r.Headers, m)
		return nil
	})
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
