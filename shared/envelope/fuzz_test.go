package envelope_test

import (
	"bytes"
	"testing"

	"github.com/ordersync/ordersync/shared/envelope"
)

// FuzzDecode feeds arbitrary bytes to Decode and to Codec.Decode of two
// struct types. Neither may
// panic, every error must be a *PathError, and whatever decodes must encode
// again and decode to the same bytes (Encode∘Decode is stable after one step).
func FuzzDecode(f *testing.F) {
	f.Add([]byte(orderJSON))
	for _, tc := range typeCases {
		f.Add([]byte(tc.want))
	}
	f.Add([]byte(everythingJSON))
	c := orderCodec()
	ce, err := envelope.NewCodec[everything]("com.example.Everything")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		schema, value, err := envelope.Decode(data)
		if err != nil {
			if _, ok := err.(*envelope.PathError); !ok {
				t.Fatalf("error %v is a %T, not a *PathError", err, err)
			}
		} else if schema != nil {
			once, err := envelope.Encode(schema, value)
			if err != nil {
				t.Fatalf("Encode of a decoded value: %v", err)
			}
			s2, v2, err := envelope.Decode(once)
			if err != nil {
				t.Fatalf("Decode of %s: %v", once, err)
			}
			twice, err := envelope.Encode(s2, v2)
			if err != nil {
				t.Fatalf("second Encode: %v", err)
			}
			if !bytes.Equal(once, twice) {
				t.Fatalf("not stable:\n%s\n%s", once, twice)
			}
		}

		var e everything
		if err := ce.Decode(data, &e); err != nil {
			if _, ok := err.(*envelope.PathError); !ok {
				t.Fatalf("codec error %v is a %T, not a *PathError", err, err)
			}
		} else {
			once, err := ce.Encode(&e)
			if err != nil {
				t.Fatalf("codec Encode of a decoded value: %v", err)
			}
			var back everything
			if err := ce.Decode(once, &back); err != nil {
				t.Fatalf("codec Decode of %s: %v", once, err)
			}
			if twice, err := ce.Encode(&back); err != nil || !bytes.Equal(once, twice) {
				t.Fatalf("codec not stable (%v):\n%s\n%s", err, once, twice)
			}
		}

		var o order
		if err := c.Decode(data, &o); err != nil {
			if _, ok := err.(*envelope.PathError); !ok {
				t.Fatalf("codec error %v is a %T, not a *PathError", err, err)
			}
			return
		}
		b, err := c.Encode(&o)
		if err != nil {
			t.Fatalf("codec Encode of a decoded order: %v", err)
		}
		var back order
		if err := c.Decode(b, &back); err != nil || back != o {
			t.Fatalf("codec round trip: %v, %+v != %+v", err, back, o)
		}
	})
}
