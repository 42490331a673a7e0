package envelope_test

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/envelope"
)

// canon turns a decoded value into plain comparable data.
func canon(v any) any {
	switch v := v.(type) {
	case envelope.Decimal:
		return "decimal " + v.String() + fmt.Sprintf(" scale %d", v.Scale)
	case time.Time:
		return "time " + v.Format(time.RFC3339Nano) + " " + v.Location().String()
	case *envelope.Struct:
		out := []any{}
		for i, f := range v.Schema().Fields {
			out = append(out, f.Name, canon(v.Values()[i]))
		}
		return out
	case []any:
		out := []any{}
		for _, e := range v {
			out = append(out, canon(e))
		}
		return out
	case []envelope.MapEntry:
		out := []any{}
		for _, e := range v {
			out = append(out, canon(e.Key), canon(e.Value))
		}
		return out
	}
	return fmt.Sprintf("%T %v", v, v)
}

func dec(unscaled int64, scale int32) envelope.Decimal {
	return envelope.Decimal{Unscaled: big.NewInt(unscaled), Scale: scale}
}

func structOf(s *envelope.Schema, kv ...any) *envelope.Struct {
	st := envelope.NewStruct(s)
	for i := 0; i < len(kv); i += 2 {
		if err := st.Set(kv[i].(string), kv[i+1]); err != nil {
			panic(err)
		}
	}
	return st
}

var (
	point = &envelope.Schema{Type: envelope.StructType, Name: "point", Fields: []envelope.Field{
		{Name: "x", Schema: &envelope.Schema{Type: envelope.Float64}},
		{Name: "y", Schema: &envelope.Schema{Type: envelope.Float64, Optional: true, Default: 0.5}},
	}}
	line = &envelope.Schema{Type: envelope.StructType, Fields: []envelope.Field{
		{Name: "id", Schema: &envelope.Schema{Type: envelope.Int64}},
		{Name: "from", Schema: point},
		{Name: "labels", Schema: &envelope.Schema{Type: envelope.Array, Optional: true, Items: &envelope.Schema{Type: envelope.String}}},
	}}
)

// typeCases pins the wire form of every Connect type. Each want was written
// by hand from JsonConverter.asJsonSchema and convertToJson.
var typeCases = []struct {
	name   string
	schema *envelope.Schema
	value  any
	want   string
	back   any // decoded value, when it differs from value
}{
	{"int8", &envelope.Schema{Type: envelope.Int8}, int8(-128),
		`{"schema":{"type":"int8","optional":false},"payload":-128}`, nil},
	{"int16", &envelope.Schema{Type: envelope.Int16}, int16(32767),
		`{"schema":{"type":"int16","optional":false},"payload":32767}`, nil},
	{"int32", &envelope.Schema{Type: envelope.Int32}, int32(-2147483648),
		`{"schema":{"type":"int32","optional":false},"payload":-2147483648}`, nil},
	{"int64", &envelope.Schema{Type: envelope.Int64}, int64(math.MaxInt64),
		`{"schema":{"type":"int64","optional":false},"payload":9223372036854775807}`, nil},
	{"float", &envelope.Schema{Type: envelope.Float32}, float32(1.1),
		`{"schema":{"type":"float","optional":false},"payload":1.1}`, nil},
	{"double", &envelope.Schema{Type: envelope.Float64}, 1e10,
		`{"schema":{"type":"double","optional":false},"payload":1.0E10}`, nil},
	{"double plain", &envelope.Schema{Type: envelope.Float64}, 12.5,
		`{"schema":{"type":"double","optional":false},"payload":12.5}`, nil},
	{"boolean", &envelope.Schema{Type: envelope.Boolean}, true,
		`{"schema":{"type":"boolean","optional":false},"payload":true}`, nil},
	{"string", &envelope.Schema{Type: envelope.String}, "<a & \"b\">\n",
		`{"schema":{"type":"string","optional":false},"payload":"<a & \"b\">\n"}`, nil},
	{"bytes", &envelope.Schema{Type: envelope.Bytes}, []byte{0, 1, 2, 0xff},
		`{"schema":{"type":"bytes","optional":false},"payload":"AAEC/w=="}`, nil},
	{"optional null", &envelope.Schema{Type: envelope.String, Optional: true}, nil,
		`{"schema":{"type":"string","optional":true},"payload":null}`, nil},
	{"default replaces null", &envelope.Schema{Type: envelope.String, Optional: true, Default: "none"}, nil,
		`{"schema":{"type":"string","optional":true,"default":"none"},"payload":"none"}`, "none"},
	{"every schema attribute", &envelope.Schema{Type: envelope.Int32, Name: "com.example.Qty", Version: 3, Doc: "how many",
		Parameters: map[string]string{"b": "2", "a": "1"}, Default: int32(1)}, int32(7),
		`{"schema":{"type":"int32","optional":false,"name":"com.example.Qty","version":3,"doc":"how many","parameters":{"a":"1","b":"2"},"default":1},"payload":7}`, nil},
	{"decimal", envelope.DecimalSchema(2, false), dec(12345, 2),
		`{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"MDk="}`, nil},
	{"decimal zero", envelope.DecimalSchema(0, false), dec(0, 0),
		`{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0"}},"payload":"AA=="}`, nil},
	{"decimal 128 needs a sign byte", envelope.DecimalSchema(0, false), dec(128, 0),
		`{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0"}},"payload":"AIA="}`, nil},
	{"decimal -1", envelope.DecimalSchema(0, false), dec(-1, 0),
		`{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0"}},"payload":"/w=="}`, nil},
	{"decimal -129", envelope.DecimalSchema(3, false), dec(-129, 3),
		`{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"3"}},"payload":"/38="}`, nil},
	{"date", envelope.Date(false), time.Date(2024, 11, 14, 0, 0, 0, 0, time.UTC),
		`{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":20041}`, nil},
	{"date before the epoch", envelope.Date(false), time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC),
		`{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":-1}`, nil},
	{"time", envelope.Time(false), time.Date(1970, 1, 1, 13, 45, 30, 250e6, time.UTC),
		`{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},"payload":49530250}`, nil},
	{"timestamp", envelope.Timestamp(false), time.Date(2024, 11, 14, 22, 13, 20, 123e6, time.UTC),
		`{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":1731622400123}`, nil},
	{"timestamp in another zone", envelope.Timestamp(true), time.Date(2024, 11, 14, 23, 13, 20, 0, time.FixedZone("CET", 3600)),
		`{"schema":{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":1731622400000}`,
		time.Date(2024, 11, 14, 22, 13, 20, 0, time.UTC)},
	{"array", &envelope.Schema{Type: envelope.Array, Items: &envelope.Schema{Type: envelope.Int32}}, []any{int32(1), int32(2)},
		`{"schema":{"type":"array","items":{"type":"int32","optional":false},"optional":false},"payload":[1,2]}`, nil},
	{"array of optional", &envelope.Schema{Type: envelope.Array, Items: &envelope.Schema{Type: envelope.String, Optional: true}}, []any{"a", nil},
		`{"schema":{"type":"array","items":{"type":"string","optional":true},"optional":false},"payload":["a",null]}`, nil},
	{"empty array", &envelope.Schema{Type: envelope.Array, Items: &envelope.Schema{Type: envelope.Int32}}, []any{},
		`{"schema":{"type":"array","items":{"type":"int32","optional":false},"optional":false},"payload":[]}`, nil},
	{"map with string keys", &envelope.Schema{Type: envelope.Map, Keys: &envelope.Schema{Type: envelope.String}, Values: &envelope.Schema{Type: envelope.Int64}},
		[]envelope.MapEntry{{Key: "b", Value: int64(2)}, {Key: "a", Value: int64(1)}},
		`{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int64","optional":false},"optional":false},"payload":{"b":2,"a":1}}`, nil},
	{"Go map is written in key order", &envelope.Schema{Type: envelope.Map, Keys: &envelope.Schema{Type: envelope.String}, Values: &envelope.Schema{Type: envelope.Int64}},
		map[string]int64{"b": 2, "a": 1},
		`{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int64","optional":false},"optional":false},"payload":{"a":1,"b":2}}`,
		[]envelope.MapEntry{{Key: "a", Value: int64(1)}, {Key: "b", Value: int64(2)}}},
	{"map with int keys is an array of pairs", &envelope.Schema{Type: envelope.Map, Keys: &envelope.Schema{Type: envelope.Int32}, Values: &envelope.Schema{Type: envelope.String, Optional: true}},
		[]envelope.MapEntry{{Key: int32(1), Value: "one"}, {Key: int32(-2), Value: nil}},
		`{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":true},"optional":false},"payload":[[1,"one"],[-2,null]]}`, nil},
	{"struct", point, structOf(point, "x", 1.5, "y", 2.0),
		`{"schema":{"type":"struct","fields":[{"type":"double","optional":false,"field":"x"},{"type":"double","optional":true,"default":0.5,"field":"y"}],"optional":false,"name":"point"},"payload":{"x":1.5,"y":2.0}}`, nil},
	{"struct field default", point, structOf(point, "x", 1.5),
		`{"schema":{"type":"struct","fields":[{"type":"double","optional":false,"field":"x"},{"type":"double","optional":true,"default":0.5,"field":"y"}],"optional":false,"name":"point"},"payload":{"x":1.5,"y":0.5}}`,
		structOf(point, "x", 1.5, "y", 0.5)},
	{"nested struct and array", line, structOf(line, "id", int64(7), "from", structOf(point, "x", -0.001, "y", 1e-4), "labels", []any{"a", "b"}),
		`{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},` +
			`{"type":"struct","fields":[{"type":"double","optional":false,"field":"x"},{"type":"double","optional":true,"default":0.5,"field":"y"}],"optional":false,"name":"point","field":"from"},` +
			`{"type":"array","items":{"type":"string","optional":false},"optional":true,"field":"labels"}],"optional":false},` +
			`"payload":{"id":7,"from":{"x":-0.001,"y":1.0E-4},"labels":["a","b"]}}`, nil},
	{"struct from a Go map", point, map[string]any{"x": 3.0},
		`{"schema":{"type":"struct","fields":[{"type":"double","optional":false,"field":"x"},{"type":"double","optional":true,"default":0.5,"field":"y"}],"optional":false,"name":"point"},"payload":{"x":3.0,"y":0.5}}`,
		structOf(point, "x", 3.0, "y", 0.5)},
}

func TestEncodeDecodeTypes(t *testing.T) {
	for _, tc := range typeCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := envelope.Encode(tc.schema, tc.value)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("Encode:\n got %s\nwant %s", got, tc.want)
			}
			schema, value, err := envelope.Decode([]byte(tc.want))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			back := tc.back
			if back == nil {
				back = tc.value
			}
			if g, w := canon(value), canon(back); fmt.Sprint(g) != fmt.Sprint(w) {
				t.Fatalf("Decode value:\n got %v\nwant %v", g, w)
			}
			// Round trip: what Decode returns encodes to the same bytes.
			again, err := envelope.Encode(schema, value)
			if err != nil {
				t.Fatalf("re-Encode: %v", err)
			}
			if string(again) != tc.want {
				t.Fatalf("re-Encode:\n got %s\nwant %s", again, tc.want)
			}
		})
	}
}

func TestSchemaJSONRoundTrip(t *testing.T) {
	for _, tc := range typeCases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.schema.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var s envelope.Schema
			if err := s.UnmarshalJSON(b); err != nil {
				t.Fatalf("UnmarshalJSON(%s): %v", b, err)
			}
			again, err := s.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(b) {
				t.Fatalf("got %s\nwant %s", again, b)
			}
		})
	}
}

func nanValue() float64 { return math.NaN() }

// A *Struct built on another schema object is matched to the schema by name.
func TestEncodeStructOfAnotherSchema(t *testing.T) {
	var copyOfPoint envelope.Schema
	if err := copyOfPoint.UnmarshalJSON(mustJSON(t, point)); err != nil {
		t.Fatal(err)
	}
	got, err := envelope.Encode(&copyOfPoint, structOf(point, "x", 1.0))
	if err != nil {
		t.Fatal(err)
	}
	if want := `"payload":{"x":1.0,"y":0.5}}`; !strings.HasSuffix(string(got), want) {
		t.Fatalf("got %s, want a payload ending %s", got, want)
	}
	other := &envelope.Schema{Type: envelope.StructType, Fields: []envelope.Field{{Name: "z", Schema: &envelope.Schema{Type: envelope.Float64}}}}
	_, err = envelope.Encode(&copyOfPoint, structOf(other, "z", 1.0))
	checkPathError(t, err, "payload.z", envelope.ErrUnknown)
}

func TestDecimalString(t *testing.T) {
	cases := []struct {
		d    envelope.Decimal
		want string
	}{
		{dec(12345, 2), "123.45"},
		{dec(-12345, 2), "-123.45"},
		{dec(5, 3), "0.005"},
		{dec(-5, 1), "-0.5"},
		{dec(0, 2), "0.00"},
		{dec(12, 0), "12"},
		{dec(12, -2), "1200"},
		{envelope.Decimal{}, "<nil>"},
	}
	for _, tc := range cases {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%#v: got %s, want %s", tc.d, got, tc.want)
		}
	}
}
