package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/order"
)

// Bad input never stops the pipeline: whatever a record holds, Handle answers, produces
// exactly one output record for it (accepted, rejected or dead-lettered) and returns no
// error while the broker is up.

// recorder is a real *kgo.Client that also remembers what the handler gave it, so a test
// can look at the outputs without reading them back from the broker.
type recorder struct {
	*kgo.Client
	testkit.Produced
}

// Produce keeps a copy of rec as the broker answered it, before the handler may reuse it.
func (r *recorder) Produce(ctx context.Context, rec *kgo.Record, promise func(*kgo.Record, error)) {
	r.Client.Produce(ctx, rec, func(rec *kgo.Record, err error) {
		r.Add(rec)
		promise(rec, err)
	})
}

// newHostileHandler is a handler producing through a recorder to a fresh kfake cluster.
func newHostileHandler(tb testing.TB) (*Handler, *recorder) {
	tb.Helper()
	rec := &recorder{Client: newClient(tb, newCluster(tb, 1).ListenAddrs())}
	return &Handler{Producer: rec, Topics: testTopics, Log: discardLog, MaxProduceWait: 30 * time.Second}, rec
}

// goldenSubmitted is create-order's golden OrderSubmitted value: a valid PENDING order.
const goldenSubmitted = `{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"order_id"},{"type":"string","optional":false,"field":"user_id"},{"type":"string","optional":false,"field":"product_id"},{"type":"int32","optional":false,"field":"qty"},{"type":"int64","optional":false,"field":"unit_price"},{"type":"int64","optional":false,"field":"total_price"},{"type":"string","optional":false,"field":"status"},{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"created_at"},{"type":"string","optional":true,"field":"reason"}],"optional":false,"name":"orders"},"payload":{"order_id":"01a20169-2e7b-7c3a-9d2e-5f0a1b2c3d4e","user_id":"user-1","product_id":"CATALOG-0001","qty":5,"unit_price":1200,"total_price":6000,"status":"PENDING","created_at":1795320000123,"reason":null}}`

const goldenID = "01a20169-2e7b-7c3a-9d2e-5f0a1b2c3d4e"

// withPayload returns the golden value with one payload field's JSON replaced.
func withPayload(field, value string) string {
	i := strings.Index(goldenSubmitted, `"payload":`)
	head, tail := goldenSubmitted[:i], goldenSubmitted[i:]
	start := strings.Index(tail, `"`+field+`":`) + len(field) + 3
	end := start + strings.IndexAny(tail[start:], ",}")
	if tail[start] == '"' {
		end = start + 1 + strings.IndexByte(tail[start+1:], '"') + 1
	}
	return head + tail[:start] + value + tail[end:]
}

// hostileEvent is the trigger's event for one record. rawValue is sent as is instead of
// value's base64 when set.
func hostileEvent(key, value []byte, rawValue string, headers []kgo.RecordHeader) events.KafkaEvent {
	kr := events.KafkaRecord{
		Topic: testTopics.Submitted, Partition: 0, Offset: 7,
		Timestamp:     events.MilliSecondsEpochTime{Time: time.UnixMilli(1795320000123)},
		TimestampType: "CREATE_TIME",
		Value:         base64.StdEncoding.EncodeToString(value),
	}
	if key != nil {
		kr.Key = base64.StdEncoding.EncodeToString(key)
	}
	if rawValue != "" {
		kr.Value = rawValue
	}
	for _, h := range headers {
		kr.Headers = append(kr.Headers, map[string]events.JSONNumberBytes{h.Key: h.Value})
	}
	return events.KafkaEvent{EventSource: "aws:kafka", Records: map[string][]events.KafkaRecord{testTopics.Submitted + "-0": {kr}}}
}

// TestHostileRecords: a table of hostile records, each with where it must go and why.
func TestHostileRecords(t *testing.T) {
	h, rec := newHostileHandler(t)
	id := []byte(goldenID)
	sqlName := "x'; DROP TABLE `orders`; --"
	tests := []struct {
		name     string
		key      []byte
		value    string
		raw      string
		headers  []kgo.RecordHeader
		topic    string
		contains string // in the reason (rejected) or the ordersync-error header (DLQ)
	}{
		{"valid order", id, goldenSubmitted, "", nil, testTopics.Orders, ""},
		{"empty value", id, "", "", nil, testTopics.DLQ, "empty value"},
		{"not base64", id, "", "not base64!", nil, testTopics.DLQ, "base64"},
		{"truncated JSON", id, goldenSubmitted[:100], "", nil, testTopics.DLQ, "value"},
		{"not an envelope", id, `{"orderId": "x"}`, "", nil, testTopics.DLQ, "value"},
		{"schemaless", id, `{"schema": null, "payload": {"order_id": "x"}}`, "", nil, testTopics.DLQ, "value"},
		{"large value, 512 KiB", id, `{"schema":"` + strings.Repeat("x", 512<<10) + `"}`, "", nil, testTopics.DLQ, "value"},
		// Known issue: a record between kgo's default ProducerBatchMaxBytes (1000012) and
		// the broker's message.max.bytes (1048588) fits the submitted topic when another
		// producer wrote it, but the handler's client refuses to produce its dead letter
		// (MESSAGE_TOO_LARGE): Handle returns an error and the trigger redelivers the batch
		// for ever, so the partition stops.
		{"value over the client's batch limit", id, `{"schema":"` + strings.Repeat("x", 1_000_100) + `"}`, "", nil, testTopics.DLQ, "truncated"},
		{"deep nesting", id, strings.Repeat("[", 100000) + strings.Repeat("]", 100000), "", nil, testTopics.DLQ, "value"},
		{"invalid UTF-8 in user_id", id, withPayload("user_id", "\"u\xff\xfe\""), "", nil, testTopics.DLQ, "payload.user_id: invalid json: invalid UTF-8"},
		{"NaN in qty", id, withPayload("qty", "NaN"), "", nil, testTopics.DLQ, "value"},
		{"qty as a string", id, withPayload("qty", `"5"`), "", nil, testTopics.DLQ, "payload.qty"},
		{"qty 2^31", id, withPayload("qty", "2147483648"), "", nil, testTopics.DLQ, "payload.qty"},
		{"unit_price 2^63", id, withPayload("unit_price", "9223372036854775808"), "", nil, testTopics.DLQ, "payload.unit_price"},
		{"created_at 2^63", id, withPayload("created_at", "9223372036854775808"), "", nil, testTopics.DLQ, "payload.created_at"},
		{"total that overflows int64", id, withPayload("unit_price", "9223372036854775807"), "", nil, testTopics.Rejected, "unit_price"},
		{"client total", id, withPayload("total_price", "1"), "", nil, testTopics.Rejected, "total_price"},
		{"unicode order id", []byte("ördér-1"), withPayload("order_id", `"ördér-1"`), "", nil, testTopics.Rejected, "order_id"},
		{"key is not the order id", []byte("someone-else"), goldenSubmitted, "", nil, testTopics.Rejected, "key"},
		{"no key", nil, goldenSubmitted, "", nil, testTopics.Rejected, "key"},
		{"SQL in product_id", id, withPayload("product_id", `"`+strings.ReplaceAll(sqlName, `'`, `'`)+`"`), "", nil, testTopics.Rejected, "product_id"},
		{"SQL in user_id", id, withPayload("user_id", `"a' OR '1'='1"`), "", nil, testTopics.Rejected, "user_id"},
		{"SQL in status", id, withPayload("status", "\"PENDING`; --\""), "", nil, testTopics.Rejected, "status"},
		{"already accepted", id, withPayload("status", `"ACCEPTED"`), "", nil, testTopics.Rejected, "status"},
		{"SQL in the schema name", id, strings.Replace(goldenSubmitted, `"name":"orders"`, "\"name\":\"orders`; DROP TABLE orders; --\"", 1), "", nil, testTopics.DLQ, "value"},
		{"extra field with backticks", id, strings.Replace(goldenSubmitted, `{"type":"string","optional":true,"field":"reason"}`,
			"{\"type\":\"string\",\"optional\":true,\"field\":\"reason\"},{\"type\":\"string\",\"optional\":true,\"field\":\"x`y\"}", 1), "", nil, testTopics.DLQ, "value"},
		{"hostile headers pass through", id, goldenSubmitted, "", []kgo.RecordHeader{
			{Key: "ordersync-event", Value: []byte("OrderAccepted")}, {Key: "x`'\"", Value: []byte("\xff\x00")}, {Key: "", Value: nil},
		}, testTopics.Orders, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.Take()
			_, r := handleOne(t, h, rec, hostileEvent(tt.key, []byte(tt.value), tt.raw, tt.headers))
			if r.Topic != tt.topic {
				why, _ := recHeader(r, order.HeaderError)
				t.Fatalf("went to %s (%s), want %s", r.Topic, why, tt.topic)
			}
			if tt.contains == "truncated" {
				// Forwarded whole, the dead letter would be over the record limit and the
				// batch would be redelivered for ever: it carries the value's first bytes.
				n, _ := recHeader(r, order.HeaderValueTruncated)
				if n != strconv.Itoa(len(tt.value)) || !strings.HasPrefix(tt.value, string(r.Value)) || len(r.Value) == 0 {
					t.Fatalf("truncated header %q, value of %d bytes; want %d and a prefix", n, len(r.Value), len(tt.value))
				}
				return
			}
			checkOutput(t, r, tt.key, []byte(tt.value), tt.raw, tt.contains)
		})
	}
}

func recHeader(r *kgo.Record, key string) (string, bool) {
	var v string
	var ok bool
	for _, h := range r.Headers {
		if h.Key == key {
			v, ok = string(h.Value), true // the last one wins
		}
	}
	return v, ok
}

// checkOutput checks one output record on its own terms.
func checkOutput(t testing.TB, r *kgo.Record, key, value []byte, raw, contains string) {
	t.Helper()
	switch r.Topic {
	case testTopics.Orders, testTopics.Rejected:
		var o order.Order
		if err := order.Codec.Decode(r.Value, &o); err != nil {
			t.Fatalf("%s output does not decode: %v", r.Topic, err)
		}
		ev, _ := recHeader(r, order.HeaderEvent)
		if r.Topic == testTopics.Orders {
			if o.Status != order.Accepted || o.Reason != "" || ev != order.EventAccepted || string(r.Key) != o.OrderID {
				t.Errorf("accepted output %+v, event %q, key %q", o, ev, r.Key)
			}
			if errs := o.Check(); errs != nil {
				t.Errorf("accepted order breaks rules: %v", errs)
			}
		} else {
			if o.Status != order.Rejected || o.Reason == "" || ev != order.EventRejected {
				t.Errorf("rejected output %+v, event %q", o, ev)
			}
			if !strings.Contains(o.Reason, contains) {
				t.Errorf("reason %q does not name %q", o.Reason, contains)
			}
		}
	case testTopics.DLQ:
		msg, ok := recHeader(r, order.HeaderError)
		if !ok || !strings.Contains(msg, contains) {
			t.Errorf("dead letter error %q does not name %q", msg, contains)
		}
		for _, h := range []string{order.HeaderSourceTopic, order.HeaderSourcePartition, order.HeaderSourceOffset} {
			if _, ok := recHeader(r, h); !ok {
				t.Errorf("dead letter lacks header %s", h)
			}
		}
		want := value
		if raw != "" {
			want = []byte(raw)
		}
		if len(want) == 0 {
			want = nil
		}
		if !bytes.Equal(r.Value, want) || !bytes.Equal(r.Key, key) {
			t.Errorf("dead letter key %q value %.60q; want the original key %q and value %.60q", r.Key, r.Value, key, want)
		}
	default:
		t.Errorf("output to unexpected topic %q", r.Topic)
	}
}

// FuzzHandle feeds arbitrary keys, values and headers through the handler as the Kafka
// trigger delivers them (base64, or raw text when raw is set). Every input gets exactly
// one output record on one of the three topics, the invocation succeeds, and an
// accepted output always passes every rule.
func FuzzHandle(f *testing.F) {
	f.Add([]byte(goldenID), []byte(goldenSubmitted), false, "ordersync-event", []byte("OrderSubmitted"))
	f.Add([]byte("k"), []byte(goldenSubmitted), false, "", []byte(nil))
	f.Add([]byte(goldenID), []byte(withPayload("qty", "2147483648")), false, "x`'", []byte("\xff"))
	f.Add([]byte(goldenID), []byte("{"), true, "ordersync-event", []byte("OrderAccepted"))
	f.Add([]byte(nil), []byte(""), false, "", []byte(""))
	// In memory, with no network and no timers, so that it runs thousands of inputs a
	// second; TestHostileRecords covers the same records against kfake.
	rec := &testkit.MemProducer{}
	h := &Handler{Producer: rec, Topics: testTopics, Log: discardLog}
	f.Fuzz(func(t *testing.T, key, value []byte, raw bool, hk string, hv []byte) {
		rawValue := ""
		if raw {
			rawValue = string(value)
			if rawValue == "" {
				rawValue = "="
			}
		}
		var headers []kgo.RecordHeader
		if hk != "" || hv != nil {
			headers = []kgo.RecordHeader{{Key: hk, Value: hv}}
		}
		res, r := handleOne(t, h, rec, hostileEvent(key, value, rawValue, headers))
		// Deterministic: the same input gives the same output record, byte for byte.
		if res2, err := h.Handle(context.Background(), hostileEvent(key, value, rawValue, headers)); err != nil || res2 != res {
			t.Fatalf("second run: %+v, %v; first %+v", res2, err, res)
		}
		if again := rec.Take(); len(again) != 1 || !sameOutput(again[0], r) {
			t.Fatalf("second run gave %v, first %v", again, r)
		}
		if r.Topic == testTopics.DLQ {
			// Raw text that is valid base64 (say "0000") is a base64 value after all: the
			// record's bytes, and so its dead letter's, are its decoding.
			if d, err := base64.StdEncoding.DecodeString(rawValue); raw && err == nil && len(d) > 0 {
				checkOutput(t, r, key, d, "", "")
				return
			}
			checkOutput(t, r, key, value, rawValue, "")
			return
		}
		if raw {
			// Raw text that happens to be base64 of an envelope is fine too.
			if _, err := base64.StdEncoding.DecodeString(rawValue); err != nil {
				t.Fatalf("undecodable base64 %q went to %s", rawValue, r.Topic)
			}
			return
		}
		checkOutput(t, r, key, value, "", "")
		var in order.Order
		if err := order.Codec.Decode(value, &in); err != nil {
			t.Fatalf("value that does not decode went to %s: %v", r.Topic, err)
		}
	})
}

// sameOutput reports whether two output records are the same record.
func sameOutput(a, b *kgo.Record) bool {
	if a.Topic != b.Topic || !bytes.Equal(a.Key, b.Key) || !bytes.Equal(a.Value, b.Value) ||
		!a.Timestamp.Equal(b.Timestamp) || len(a.Headers) != len(b.Headers) {
		return false
	}
	for i := range a.Headers {
		if a.Headers[i].Key != b.Headers[i].Key || !bytes.Equal(a.Headers[i].Value, b.Headers[i].Value) {
			return false
		}
	}
	return true
}
