package order

import (
	"testing"

	"github.com/ordersync/ordersync/internal/testkit"
)

func TestCodec(t *testing.T) {
	schema, err := Codec.Schema().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(schema) != testkit.OrderSchema {
		t.Fatalf("schema\n%s\nwant\n%s", schema, testkit.OrderSchema)
	}

	tests := []struct {
		name    string
		order   Order
		payload string
	}{
		{"pending", validOrder(), `{"order_id":"0b4f3d4e-9a7c-5d2e-8f10-2a3b4c5d6e7f","user_id":"user-1","product_id":"CATALOG-0001",` +
			`"qty":5,"unit_price":1200,"total_price":6000,"status":"PENDING","created_at":1795320000123,"reason":null}`},
		{"rejected", func() Order { o := validOrder(); o.Status, o.Reason = Rejected, `qty: "too many"`; return o }(),
			`{"order_id":"0b4f3d4e-9a7c-5d2e-8f10-2a3b4c5d6e7f","user_id":"user-1","product_id":"CATALOG-0001",` +
				`"qty":5,"unit_price":1200,"total_price":6000,"status":"REJECTED","created_at":1795320000123,"reason":"qty: \"too many\""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Codec.Encode(&tt.order)
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"schema":` + testkit.OrderSchema + `,"payload":` + tt.payload + `}`; string(b) != want {
				t.Fatalf("record\n%s\nwant\n%s", b, want)
			}
			var back Order
			if err := Codec.Decode(b, &back); err != nil {
				t.Fatal(err)
			}
			if back != tt.order {
				t.Fatalf("decoded %+v\nwant    %+v", back, tt.order)
			}
		})
	}
}
