package envelope_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/ordersync/ordersync/shared/order"
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

		var o order.Order
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
		var back order.Order
		if err := c.Decode(b, &back); err != nil || back != o {
			t.Fatalf("codec round trip: %v, %+v != %+v", err, back, o)
		}
	})
}

// FuzzCodecAgreesWithDecode: whatever the typed order codec decodes, the generic Decode
// decodes too, to the same field values; and what the codec refuses, Decode refuses or
// reads with another schema. The two readers share one scanner but not one walk, so
// this keeps them from drifting apart.
func FuzzCodecAgreesWithDecode(f *testing.F) {
	f.Add([]byte(orderJSON))
	f.Add([]byte(strings.Replace(orderJSON, `"qty":`, `"qty": 1, "qty":`, 1)))
	f.Add([]byte(strings.Replace(orderJSON, `"reason":null`, `"reason":"\ud83d\ude00 -0.0"`, 1)))
	c := orderCodec()
	f.Fuzz(func(t *testing.T, data []byte) {
		var o order.Order
		cerr := c.Decode(data, &o)
		schema, v, err := envelope.Decode(data)
		if cerr != nil {
			if err == nil && schema != nil && schema.Name == "orders" && sameOrderSchema(c.Schema(), schema) {
				t.Fatalf("codec refuses what Decode reads with the same schema: %v", cerr)
			}
			return
		}
		if err != nil {
			t.Fatalf("codec reads %q, Decode refuses it: %v", data, err)
		}
		st, ok := v.(*envelope.Struct)
		if !ok {
			t.Fatalf("Decode gave %T", v)
		}
		want := map[string]any{"order_id": o.OrderID, "user_id": o.UserID, "product_id": o.ProductID, "qty": o.Qty,
			"unit_price": o.UnitPrice, "total_price": o.TotalPrice, "status": string(o.Status), "created_at": o.CreatedAt}
		for name, w := range want {
			if g, _ := st.Get(name); g != w {
				t.Fatalf("%s: Decode %v, codec %v", name, g, w)
			}
		}
		if g, _ := st.Get("reason"); !(g == nil && o.Reason == "" || g == o.Reason) { // "" ⇄ null in the codec
			t.Fatalf("reason: Decode %v, codec %q", g, o.Reason)
		}
	})
}

// sameOrderSchema reports whether two schemas encode to the same bytes.
func sameOrderSchema(a, b *envelope.Schema) bool {
	ab, err1 := a.MarshalJSON()
	bb, err2 := b.MarshalJSON()
	return err1 == nil && err2 == nil && bytes.Equal(ab, bb)
}
