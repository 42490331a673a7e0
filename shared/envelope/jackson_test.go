package envelope_test

import (
	"math"
	"testing"

	"github.com/ordersync/ordersync/shared/envelope"
)

// TestGoldenJackson pins what Jackson (JsonConverter's writer) does with characters
// outside the Basic Multilingual Plane, escaped as \uXXXX\uXXXX surrogate pairs with
// upper-case hex while the BMP stays raw UTF-8, and with negative zero, which
// JsonConverter reads as 0.0 (BigDecimal has no negative zero) and so writes back as
// 0.0. One envelope per line: strings written from Go values, then records decoded
// and written again.
func TestGoldenJackson(t *testing.T) {
	str := &envelope.Schema{Type: envelope.String}
	var all []byte
	for _, s := range []string{"😀", "a😀b", "𝄞 G clef", "\U0010FFFF", "é中\u2028", "😀😀", "tab\tand 😀\n"} {
		b, err := envelope.Encode(str, s)
		if err != nil {
			t.Fatal(err)
		}
		all = append(append(all, b...), '\n')
	}
	for _, in := range []string{
		`{"schema":{"type":"double","optional":false},"payload":-0.0}`,
		`{"schema":{"type":"double","optional":false},"payload":-0}`,
		`{"schema":{"type":"float","optional":false},"payload":-0.0E5}`,
		`{"schema":{"type":"string","optional":false},"payload":"\ud83d\ude00 and 😀"}`,
	} {
		s, v, err := envelope.Decode([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		b, err := envelope.Encode(s, v)
		if err != nil {
			t.Fatal(err)
		}
		all = append(append(all, b...), '\n')
	}
	golden(t, "jackson.golden", all)

	type reading struct {
		F float32 `connect:"f"`
		D float64 `connect:"d"`
	}
	c, err := envelope.NewCodec[reading]("reading")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Encode(&reading{F: float32(math.Copysign(0, -1)), D: math.Copysign(0, -1)})
	if err != nil {
		t.Fatal(err)
	}
	var r reading
	if err := c.Decode(b, &r); err != nil {
		t.Fatal(err)
	}
	if math.Signbit(float64(r.F)) || math.Signbit(r.D) {
		t.Errorf("typed decode of %s kept a negative zero: %+v", b, r)
	}
}
