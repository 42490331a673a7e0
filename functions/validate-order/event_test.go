package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// eventCases are trigger events, well formed, that decodeEvent must read as
// encoding/json reads them into events.KafkaEvent.
var eventCases = map[string]string{
	"empty":          `{}`,
	"no records":     `{"eventSource":"aws:kafka","records":{}}`,
	"null members":   `{"eventSource":null,"eventSourceArn":null,"bootstrapServers":null,"records":null}`,
	"null partition": `{"records":{"t-0":null}}`,
	"null record":    `{"records":{"t-0":[null]}}`,
	"full record": `{"eventSource":"aws:kafka","eventSourceArn":"arn:aws:kafka:eu-west-1:1:cluster/c/1","bootstrapServers":"b-1:9098,b-2:9098",
		"records":{"orders.submitted-0":[{"topic":"orders.submitted","partition":0,"offset":15,"timestamp":1545084650987,
		"timestampType":"CREATE_TIME","key":"a2V5","value":"dmFsdWU=","headers":[{"traceparent":[48,48,45,52]},{"x":[-128,-1,0,1,127]}]}]}}`,
	"white space": " {\n\t\"records\" : { \"t-1\" : [ { \"offset\" : 7 , \"headers\" : [ { \"h\" : [ 1 , -2 ] } ] } ] } } ",
	"several partitions, out of order": `{"records":{"t-2":[{"topic":"t","partition":2,"offset":9},{"topic":"t","partition":2,"offset":10}],
		"t-0":[{"topic":"t","partition":0,"offset":3}]}}`,
	"null and missing record members": `{"records":{"t-0":[{"topic":null,"partition":null,"offset":null,"timestamp":null,"timestampType":null,"key":null,"value":null,"headers":null},{}]}}`,
	"empty headers":                   `{"records":{"t-0":[{"headers":[]},{"headers":[null]},{"headers":[{}]},{"headers":[{"h":[]}]},{"headers":[{"h":null,"i":[]}]}]}}`,
	"header with several names":       `{"records":{"t-0":[{"headers":[{"b":[2],"a":[1]}]}]}}`,
	"escapes":                         `{"eventSource":"a\"b\\c\u00e9\ud83d\ude00","records":{"t\u002d0":[{"topic":"t\n","key":"a\/b"}]}}`,
	"unknown members": `{"x":{"y":[1,{"z":null}]},"records":{"t-0":[{"topic":"t","extra":[true,false],"headers":[{"h":[5]}],"more":{"a":1.5e3}}]},
		"after":"s"}`,
	"negative and large numbers":  `{"records":{"t-0":[{"partition":-1,"offset":9223372036854775807,"timestamp":-1500}]}}`,
	"records twice, in two cases": `{"records":{"t-0":[{"offset":1}]},"Records":{"t-1":[{"offset":2}]}}`,
	"zero":                        `{"records":{"t-0":[{"partition":0,"offset":-0,"timestamp":0,"headers":[{"h":[0,-0]}]}]}}`,
}

// TestDecodeEvent: decodeEvent reads the sample events and every well-formed case as
// encoding/json does, field for field.
func TestDecodeEvent(t *testing.T) {
	cases := map[string][]byte{}
	for name, doc := range eventCases {
		cases[name] = []byte(doc)
	}
	files, err := filepath.Glob("../../events/validate-order*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("sample events: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases[filepath.Base(f)] = b
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			var want events.KafkaEvent
			if err := json.Unmarshal(doc, &want); err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			got, err := decodeEvent(doc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, fromEvents(want)) {
				t.Errorf("decodeEvent:\n%#v\nencoding/json:\n%#v", got, want)
			}
		})
	}
}

// TestDecodeEventErrors: an event encoding/json refuses is refused too, and so is one
// whose meaning encoding/json would guess at (a member given twice).
func TestDecodeEventErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":              `{"records":`,
		"not an object":         `[]`,
		"trailing data":         `{} {}`,
		"records not an object": `{"records":[]}`,
		"partition not a list":  `{"records":{"t-0":{}}}`,
		"record not an object":  `{"records":{"t-0":[1]}}`,
		"offset a string":       `{"records":{"t-0":[{"offset":"1"}]}}`,
		"offset a fraction":     `{"records":{"t-0":[{"offset":1.5}]}}`,
		"offset too large":      `{"records":{"t-0":[{"offset":9223372036854775808}]}}`,
		"timestamp a string":    `{"records":{"t-0":[{"timestamp":"2024"}]}}`,
		"key a number":          `{"records":{"t-0":[{"key":1}]}}`,
		"header byte too large": `{"records":{"t-0":[{"headers":[{"h":[128]}]}]}}`,
		"header byte too small": `{"records":{"t-0":[{"headers":[{"h":[-129]}]}]}}`,
		"header byte fraction":  `{"records":{"t-0":[{"headers":[{"h":[1.0]}]}]}}`,
		"header byte string":    `{"records":{"t-0":[{"headers":[{"h":["1"]}]}]}}`,
		"header value a string": `{"records":{"t-0":[{"headers":[{"h":"YQ=="}]}]}}`,
		"headers an object":     `{"records":{"t-0":[{"headers":{"h":[1]}}]}}`,
		"bad syntax in unknown": `{"x":[1,],"records":{}}`,
		"duplicate member":      `{"records":{"t-0":[{"offset":1,"offset":2}]}}`,
		"duplicate partition":   `{"records":{"t-0":[],"t-0":[]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if ev, err := decodeEvent([]byte(doc)); err == nil || !strings.HasPrefix(err.Error(), "kafka event: ") {
				t.Errorf("decodeEvent = %+v, %v; want a kafka event error", ev, err)
			}
		})
	}
}

// FuzzDecodeEvent checks the trigger's event reader against encoding/json on any bytes:
// whatever decodeEvent reads, encoding/json reads too, to the same events.KafkaEvent,
// which fromEvents turns into what decodeEvent read.
// (decodeEvent is stricter: it refuses a member name given twice and invalid UTF-8.)
func FuzzDecodeEvent(f *testing.F) {
	for _, doc := range eventCases {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := decodeEvent(doc)
		if err != nil {
			return
		}
		var want events.KafkaEvent
		if err := json.Unmarshal(doc, &want); err != nil {
			t.Fatalf("decodeEvent read %q, encoding/json refuses it: %v", doc, err)
		}
		if !reflect.DeepEqual(got, fromEvents(want)) {
			t.Fatalf("%q: decodeEvent:\n%#v\nencoding/json:\n%#v", doc, got, want)
		}
	})
}

// TestResultJSON: the answer is the JSON encoding/json writes for a Result, with and
// without a partial batch response.
func TestResultJSON(t *testing.T) {
	none := []ItemFailure(nil)
	empty := []ItemFailure{}
	two := []ItemFailure{{ItemIdentifier{Partition: "orders.submitted-0", Offset: 7}}, {ItemIdentifier{Partition: "orders.submitted-12", Offset: 9223372036854775807}}}
	for _, r := range []Result{
		{},
		{Records: 3, Accepted: 1, Rejected: 1, DeadLettered: 1},
		{Records: 10000, Accepted: 9000, Rejected: 1000, BatchItemFailures: &none},
		{Records: 2, BatchItemFailures: &empty},
		{Records: 5, Accepted: 5, BatchItemFailures: &two},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON = %s, want %s", got, want)
		}
	}
}

// TestInvokeSampleEvents: the sample events, as the runtime hands them over, get the
// answer Handle gives for them, in JSON.
func TestInvokeSampleEvents(t *testing.T) {
	files, _ := filepath.Glob("../../events/validate-order*.json")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			payload, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := newHandler(t, newCluster(t, 3), nil).Invoke(context.Background(), payload)
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"records":3,"accepted":1,"rejected":1,"deadLettered":1}`; string(out) != want {
				t.Errorf("Invoke = %s, want %s", out, want)
			}
		})
	}
	if out, err := newHandler(t, newCluster(t, 1), nil).Invoke(context.Background(), []byte(`{"records":`)); err == nil {
		t.Errorf("Invoke of a malformed event = %s, want an error", out)
	}
}

// BenchmarkDecodeEvent reads a 10,000-record event as the trigger writes it: with
// decodeEvent, traced records (with create-order's headers: ordersync-event, traceparent
// and X-Ray) and plain ones (ordersync-event only);
// and the traced event with encoding/json, which aws-lambda-go would use.
func BenchmarkDecodeEvent(b *testing.B) {
	const n = 10000
	plain, traced := make([]in, n), make([]in, n)
	for i := range plain {
		plain[i] = encode(b, pending(i))
		traced[i] = withTrace(plain[i])
	}
	payload := func(records []in) []byte {
		p, err := json.Marshal(kafkaEvent(records...))
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	tracedEvent := payload(traced)
	for _, v := range []struct {
		name    string
		payload []byte
		decode  func([]byte) error
	}{
		{"decodeEvent", tracedEvent, func(p []byte) error { _, err := decodeEvent(p); return err }},
		{"decodeEvent-plain", payload(plain), func(p []byte) error { _, err := decodeEvent(p); return err }},
		{"encoding/json", tracedEvent, func(p []byte) error { var ev events.KafkaEvent; return json.Unmarshal(p, &ev) }},
	} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(len(v.payload)))
			for b.Loop() {
				if err := v.decode(v.payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
