package envelope_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/ordersync/ordersync/shared/order"
)

// jsonOrder is the order as a plain encoding/json struct: the baseline. Encoding, its
// CreatedAt is a time.Time as in order.Order; in the envelope's payload, milliseconds
// since the epoch.
type jsonOrder[T time.Time | int64] struct {
	OrderID    string  `json:"order_id"`
	UserID     string  `json:"user_id"`
	ProductID  string  `json:"product_id"`
	Qty        int32   `json:"qty"`
	UnitPrice  int64   `json:"unit_price"`
	TotalPrice int64   `json:"total_price"`
	Status     string  `json:"status"`
	CreatedAt  T       `json:"created_at"`
	Reason     *string `json:"reason"`
}

// jsonEnvelope is the whole envelope as plain encoding/json structs, with no
// checks beyond what json.Unmarshal does.
type jsonEnvelope struct {
	Schema struct {
		Type   string `json:"type"`
		Fields []struct {
			Type     string `json:"type"`
			Optional bool   `json:"optional"`
			Name     string `json:"name"`
			Version  int    `json:"version"`
			Field    string `json:"field"`
		} `json:"fields"`
		Optional bool   `json:"optional"`
		Name     string `json:"name"`
	} `json:"schema"`
	Payload jsonOrder[int64] `json:"payload"`
}

func BenchmarkEncode(b *testing.B) {
	o := sampleOrder()
	b.Run("codec", func(b *testing.B) {
		c := orderCodec()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Encode(&o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("codec-append", func(b *testing.B) {
		c := orderCodec()
		buf := make([]byte, 0, 1024)
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = c.Append(buf[:0], &o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		j := jsonOrder[time.Time]{o.OrderID, o.UserID, o.ProductID, o.Qty, o.UnitPrice, o.TotalPrice, string(o.Status), o.CreatedAt, nil}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&j); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Not a row's baseline: the whole envelope, schema included, through encoding/json,
	// whose output is about as large as the codec's (1,004 bytes to its 828: the structs
	// spell out every field's name and version). BENCHMARKS.md's encode note cites it.
	b.Run("json.Marshal-envelope", func(b *testing.B) {
		data, err := orderCodec().Encode(&o)
		if err != nil {
			b.Fatal(err)
		}
		var e jsonEnvelope
		if err := json.Unmarshal(data, &e); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&e); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	data := []byte(orderJSON)
	b.Run("codec", func(b *testing.B) {
		c := orderCodec()
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var o order.Order
			if err := c.Decode(data, &o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("generic", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, _, err := envelope.Decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var e jsonEnvelope
			if err := json.Unmarshal(data, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
