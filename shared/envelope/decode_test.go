package envelope_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/ordersync/ordersync/shared/order"
)

// withPayload returns orderJSON with old replaced by new (exactly once).
func withPayload(t *testing.T, old, new string) string {
	t.Helper()
	if strings.Count(orderJSON, old) != 1 {
		t.Fatalf("%q is not in orderJSON exactly once", old)
	}
	return strings.Replace(orderJSON, old, new, 1)
}

func TestCodecDecodeErrors(t *testing.T) {
	orderSchema := orderJSON[len(`{"schema":`):strings.Index(orderJSON, `,"payload":`)]
	orderPayload := orderJSON[strings.Index(orderJSON, `"payload":`)+len(`"payload":`) : len(orderJSON)-1]
	cases := []struct {
		name, in string
		path     string
		want     error
	}{
		{"missing required field", withPayload(t, `"qty":5,`, ``), "payload.qty", envelope.ErrMissing},
		{"string for an int", withPayload(t, `"qty":5`, `"qty":"5"`), "payload.qty", envelope.ErrType},
		{"int out of range", withPayload(t, `"qty":5`, `"qty":3000000000`), "payload.qty", envelope.ErrRange},
		{"fractional int", withPayload(t, `"qty":5`, `"qty":1.5`), "payload.qty", envelope.ErrType},
		{"exponent for an int", withPayload(t, `"qty":5`, `"qty":5e0`), "payload.qty", envelope.ErrType},
		{"int64 overflow", withPayload(t, `"unit_price":1200`, `"unit_price":9223372036854775808`), "payload.unit_price", envelope.ErrRange},
		{"null for a required field", withPayload(t, `"user_id":"user-42"`, `"user_id":null`), "payload.user_id", envelope.ErrNull},
		{"number for a string", withPayload(t, `"status":"PENDING"`, `"status":1`), "payload.status", envelope.ErrType},
		{"ISO string for a timestamp", withPayload(t, `"created_at":1731622400000`, `"created_at":"2024-11-14T22:13:20Z"`), "payload.created_at", envelope.ErrType},
		{"field not in the schema", withPayload(t, `"reason":null`, `"reason":null,"coupon":"X"`), "payload.coupon", envelope.ErrUnknown},
		{"duplicate payload key", withPayload(t, `"qty":5`, `"qty":5,"qty":6`), "payload.qty", envelope.ErrSyntax},
		{"payload is not an object", `{"schema":` + orderSchema + `,"payload":[1]}`, "payload", envelope.ErrType},
		{"null payload", `{"schema":` + orderSchema + `,"payload":null}`, "payload", envelope.ErrNull},
		{"extra top-level key", strings.TrimSuffix(orderJSON, "}") + `,"extra":1}`, "extra", envelope.ErrEnvelope},
		{"extra top-level key first", `{"topic":"orders",` + orderJSON[1:], "topic", envelope.ErrEnvelope},
		{"duplicate schema", `{"schema":` + orderSchema + `,"schema":` + orderSchema + `,"payload":` + orderPayload + `}`, "schema", envelope.ErrEnvelope},
		{"no payload", `{"schema":` + orderSchema + `}`, "", envelope.ErrEnvelope},
		{"no schema", `{"payload":` + orderPayload + `}`, "", envelope.ErrEnvelope},
		{"bare payload", orderPayload, "order_id", envelope.ErrEnvelope},
		{"not an object", `[1,2]`, "", envelope.ErrEnvelope},
		{"empty record", ``, "", envelope.ErrEnvelope},
		{"other schema", strings.Replace(orderJSON, `{"type":"int32","optional":false,"field":"qty"}`, `{"type":"int64","optional":false,"field":"qty"}`, 1), "schema", envelope.ErrSchema},
		{"null schema", `{"schema":null,"payload":` + orderPayload + `}`, "schema", envelope.ErrSchema},
		{"truncated", orderJSON[:len(orderJSON)-4], "payload.reason", envelope.ErrSyntax},
		{"trailing data", orderJSON + `{}`, "", envelope.ErrSyntax},
		{"invalid UTF-8", withPayload(t, `"user-42"`, "\"user-\xff\""), "payload.user_id", envelope.ErrSyntax},
		{"raw control character", withPayload(t, `"user-42"`, "\"user\n42\""), "payload.user_id", envelope.ErrSyntax},
	}
	c := orderCodec()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var o order.Order
			err := c.Decode([]byte(tc.in), &o)
			checkPathError(t, err, tc.path, tc.want)
		})
	}
}

func checkPathError(t *testing.T, err error, path string, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v at %q", want, path)
	}
	var pe *envelope.PathError
	if !errors.As(err, &pe) {
		t.Fatalf("%v (%T) is not a *PathError", err, err)
	}
	if pe.Path != path || !errors.Is(err, want) {
		t.Fatalf("got %q (path %q), want %v at %q", err, pe.Path, want, path)
	}
}

func TestCodecDecodeAccepts(t *testing.T) {
	cases := []struct{ name, in string }{
		{"the codec's own bytes", orderJSON},
		{"payload before schema", `{"payload":` + orderJSON[strings.Index(orderJSON, `"payload":`)+10:len(orderJSON)-1] + `,"schema":` + orderJSON[10:strings.Index(orderJSON, `,"payload":`)] + `}`},
		{"optional field absent", withPayload(t, `,"reason":null`, ``)},
		{"white space and another key order in the schema", strings.NewReplacer(
			`{"type":"string","optional":false,"field":"order_id"}`, "{ \"field\" : \"order_id\", \"type\" : \"string\" }",
			`"fields":[`, "\"fields\" :\n[").Replace(orderJSON)},
		{"payload keys in another order", withPayload(t, `"qty":5,"unit_price":1200`, `"unit_price":1200,"qty":5`)},
	}
	c := orderCodec()
	want := sampleOrder()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := order.Order{Reason: "stale"}
			if err := c.Decode([]byte(tc.in), &o); err != nil {
				t.Fatal(err)
			}
			if o != want {
				t.Fatalf("got %+v\nwant %+v", o, want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	const (
		int8Schema  = `{"type":"int8","optional":false}`
		bytesSchema = `{"type":"bytes","optional":false}`
	)
	cases := []struct {
		name, in string
		path     string
		want     error
	}{
		{"int8 out of range", `{"schema":` + int8Schema + `,"payload":300}`, "payload", envelope.ErrRange},
		// The syntax the decoder refuses, beyond what its other tests show.
		{"NUL after the object", `{"schema":` + int8Schema + `,"payload":1}` + "\x00", "", envelope.ErrSyntax},
		{"byte order mark", "\ufeff" + `{"schema":` + int8Schema + `,"payload":1}`, "", envelope.ErrSyntax},
		{"leading zero", `{"schema":` + int8Schema + `,"payload":01}`, "", envelope.ErrSyntax}, // 0, then a stray 1
		{"leading plus", `{"schema":` + int8Schema + `,"payload":+1}`, "payload", envelope.ErrSyntax},
		{"fraction without digits", `{"schema":{"type":"double","optional":false},"payload":1.}`, "payload", envelope.ErrSyntax},
		{"NaN literal", `{"schema":{"type":"double","optional":false},"payload":NaN}`, "payload", envelope.ErrSyntax},
		{"double out of range", `{"schema":{"type":"double","optional":false},"payload":1e309}`, "payload", envelope.ErrRange},
		{"float out of range", `{"schema":{"type":"float","optional":false},"payload":3.5e38}`, "payload", envelope.ErrRange},
		{"bad escape", `{"schema":{"type":"string","optional":false},"payload":"\x"}`, "payload", envelope.ErrSyntax},
		{"white space JSON does not have", "{\v" + `"schema":` + int8Schema + `,"payload":1}`, "", envelope.ErrSyntax},
		{"duplicate map key", `{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":` + int8Schema + `,"optional":false},"payload":{"a":1,"a":2}}`, "payload.a", envelope.ErrDuplicateKey},
		{"bad base64", `{"schema":` + bytesSchema + `,"payload":"not base64!"}`, "payload", envelope.ErrType},
		{"base64 without padding", `{"schema":` + bytesSchema + `,"payload":"AAE"}`, "payload", envelope.ErrType},
		{"empty decimal", `{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},"payload":""}`, "payload", envelope.ErrType},
		{"decimal number not exact at scale", `{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},"payload":1.234}`, "payload", envelope.ErrRange},
		{"time beyond a day", `{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Time"},"payload":86400001}`, "payload", envelope.ErrRange},
		{"array element", `{"schema":{"type":"array","items":{"type":"string"}},"payload":["a",2]}`, "payload[1]", envelope.ErrType},
		{"null array element", `{"schema":{"type":"array","items":{"type":"string"}},"payload":["a",null]}`, "payload[1]", envelope.ErrNull},
		{"nested field", `{"schema":{"type":"struct","fields":[{"field":"a","type":"struct","fields":[{"field":"b","type":"boolean"}]}]},"payload":{"a":{"b":"yes"}}}`, "payload.a.b", envelope.ErrType},
		{"nested missing field", `{"schema":{"type":"struct","fields":[{"field":"a","type":"struct","fields":[{"field":"b","type":"boolean"}]}]},"payload":{"a":{}}}`, "payload.a.b", envelope.ErrMissing},
		{"string-keyed map as pairs", `{"schema":{"type":"map","keys":{"type":"string"},"values":{"type":"int32"}},"payload":[["a",1]]}`, "payload", envelope.ErrType},
		{"map value", `{"schema":{"type":"map","keys":{"type":"string"},"values":{"type":"int32"}},"payload":{"a":1,"b":true}}`, "payload.b", envelope.ErrType},
		{"map pair too long", `{"schema":{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}},"payload":[[1,2,3]]}`, "payload[0]", envelope.ErrType},
		{"map pair too short", `{"schema":{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}},"payload":[[1]]}`, "payload[0][1]", envelope.ErrType},
		{"map pair key", `{"schema":{"type":"map","keys":{"type":"int32"},"values":{"type":"int32"}},"payload":[[1,1],["x",2]]}`, "payload[1][0]", envelope.ErrType},
		{"schema without type", `{"schema":{"optional":true},"payload":1}`, "schema.type", envelope.ErrSchema},
		{"unknown type", `{"schema":{"type":"int128"},"payload":1}`, "schema.type", envelope.ErrSchema},
		{"parameter that is not a string", `{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":2}},"payload":"MDk="}`, "schema.parameters.scale", envelope.ErrSchema},
		{"decimal without scale", `{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal"},"payload":"MDk="}`, "schema.name", envelope.ErrSchema},
		{"logical name on the wrong type", `{"schema":{"type":"string","name":"org.apache.kafka.connect.data.Timestamp"},"payload":"x"}`, "schema.name", envelope.ErrSchema},
		{"optional that is not a boolean", `{"schema":{"type":"string","optional":"yes"},"payload":"x"}`, "schema.optional", envelope.ErrType},
		{"field schema", `{"schema":{"type":"struct","fields":[{"field":"a","type":"int32"},{"field":"b"}]},"payload":{}}`, "schema.fields[1].type", envelope.ErrSchema},
		{"field without a name", `{"schema":{"type":"struct","fields":[{"type":"int32"}]},"payload":{}}`, "schema.fields[0].field", envelope.ErrSchema},
		{"duplicate field name", `{"schema":{"type":"struct","fields":[{"field":"a","type":"int32"},{"field":"a","type":"int64"}]},"payload":{}}`, "schema.fields[1].field", envelope.ErrSchema},
		{"array without items", `{"schema":{"type":"array"},"payload":[]}`, "schema.items", envelope.ErrSchema},
		{"default of the wrong type", `{"schema":{"type":"int32","default":"x"},"payload":1}`, "schema.default", envelope.ErrType},
		{"null schema", `{"schema":null,"payload":1}`, "schema", envelope.ErrSchema},
		{"deep nesting", `{"schema":{"type":"string"},"payload":` + strings.Repeat("[", 100000) + `}`, "payload", envelope.ErrType},
		{"deep schema nesting", `{"schema":` + strings.Repeat(`{"type":"array","items":`, 1000) + `}`, "schema", envelope.ErrSyntax},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := envelope.Decode([]byte(tc.in))
			checkPathError(t, err, tc.path, tc.want)
		})
	}
}

func TestDecodeTombstone(t *testing.T) {
	s, v, err := envelope.Decode(nil)
	if s != nil || v != nil || err != nil {
		t.Fatalf("Decode(nil) = %v, %v, %v; want a tombstone (nil, nil, nil)", s, v, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	cases := []struct {
		name   string
		schema *envelope.Schema
		value  any
		path   string
		want   error
	}{
		{"null for a required value", &envelope.Schema{Type: envelope.String}, nil, "payload", envelope.ErrNull},
		{"int out of range", &envelope.Schema{Type: envelope.Int8}, 300, "payload", envelope.ErrRange},
		{"wrong Go type", &envelope.Schema{Type: envelope.Int32}, "5", "payload", envelope.ErrType},
		{"NaN", &envelope.Schema{Type: envelope.Float64}, nanValue(), "payload", envelope.ErrRange},
		{"decimal scale differs", envelope.DecimalSchema(2, false), dec(1, 3), "payload", envelope.ErrType},
		{"date with a time of day", envelope.Date(false), sampleOrder().CreatedAt, "payload", envelope.ErrRange},
		{"struct field", point, map[string]any{"x": "1"}, "payload.x", envelope.ErrType},
		{"unknown struct field", point, map[string]any{"x": 1.0, "z": 1.0}, "payload.z", envelope.ErrUnknown},
		{"array element", &envelope.Schema{Type: envelope.Array, Items: &envelope.Schema{Type: envelope.String}}, []any{"a", nil}, "payload[1]", envelope.ErrNull},
		{"unknown type", &envelope.Schema{Type: "uuid"}, "x", "schema", envelope.ErrSchema},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := envelope.Encode(tc.schema, tc.value)
			checkPathError(t, err, tc.path, tc.want)
		})
	}
}

// A record written with another schema is refused with the first difference.
func TestCodecSchemaDiff(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"field type", strings.Replace(orderJSON, `{"type":"int32","optional":false,"field":"qty"}`, `{"type":"int64","optional":false,"field":"qty"}`, 1),
			`schema: invalid schema: not the codec's schema: field "qty" is {"type":"int64","optional":false}, want {"type":"int32","optional":false}`},
		{"extra field", strings.Replace(orderJSON, `"fields":[`, `"fields":[{"type":"string","optional":true,"field":"coupon"},`, 1),
			`schema: invalid schema: not the codec's schema: field "coupon" is not in the codec's schema`},
		{"missing field", strings.Replace(orderJSON, `,{"type":"string","optional":true,"field":"reason"}`, ``, 1),
			`schema: invalid schema: not the codec's schema: field "reason" is missing`},
		{"other name", strings.Replace(orderJSON, `"name":"orders"`, `"name":"payments"`, 1),
			`schema: invalid schema: not the codec's schema: name "payments" optional false, want name "orders" optional false`},
	}
	c := orderCodec()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var o order.Order
			err := c.Decode([]byte(tc.in), &o)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

// TestDecodeAlternatingSchemas: records of two topics interleaved each get their own
// schema (the last-schema fast path compares whole schema bytes), and a record that
// starts with a known schema but is broken after it is still an error.
func TestDecodeAlternatingSchemas(t *testing.T) {
	a := []byte(`{"schema":{"type":"int32","optional":false},"payload":7}`)
	b := []byte(`{"schema":{"type":"string","optional":false},"payload":"x"}`)
	for i := 0; i < 3; i++ {
		for _, tc := range []struct {
			data []byte
			typ  envelope.Type
			want any
		}{{a, envelope.Int32, int32(7)}, {a, envelope.Int32, int32(7)}, {b, envelope.String, "x"}} {
			s, v, err := envelope.Decode(tc.data)
			if err != nil || s.Type != tc.typ || v != tc.want {
				t.Fatalf("Decode(%s) = %v, %v, %v", tc.data, s, v, err)
			}
		}
	}
	for _, bad := range []string{
		`{"schema":{"type":"string","optional":false},"payload":7}`,
		`{"schema":{"type":"string","optional":false}}`,
		`{"schema":{"type":"string","optional":false}x,"payload":"x"}`,
		`{"schema":{"type":"string","optional":false},"schema":{"type":"string","optional":false},"payload":"x"}`,
	} {
		if _, _, err := envelope.Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%s) accepted", bad)
		}
	}
}
