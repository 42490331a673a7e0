package envelope_test

import (
	"time"

	"github.com/ordersync/ordersync/shared/envelope"
)

// order has the shape of the record value in docs/record-format.md; the real type lives
// in shared/order.
type order struct {
	OrderID    string    `connect:"order_id"`
	UserID     string    `connect:"user_id"`
	ProductID  string    `connect:"product_id"`
	Qty        int32     `connect:"qty"`
	UnitPrice  int64     `connect:"unit_price"`
	TotalPrice int64     `connect:"total_price"`
	Status     string    `connect:"status"`
	CreatedAt  time.Time `connect:"created_at,timestamp"`
	Reason     string    `connect:"reason,optional"`
}

func sampleOrder() order {
	return order{
		OrderID:    "0190b8a4-7c3e-7d2a-9f1e-2b3c4d5e6f70",
		UserID:     "user-42",
		ProductID:  "CATALOG-0001",
		Qty:        5,
		UnitPrice:  1200,
		TotalPrice: 6000,
		Status:     "PENDING",
		CreatedAt:  time.Date(2024, 11, 14, 22, 13, 20, 0, time.UTC),
	}
}

func orderCodec() *envelope.Codec[order] {
	c, err := envelope.NewCodec[order]("orders")
	if err != nil {
		panic(err)
	}
	return c
}

// orderJSON is the order envelope, checked by hand against JsonConverter's
// asJsonSchema and convertToJson.
const orderJSON = `{"schema":{"type":"struct","fields":[` +
	`{"type":"string","optional":false,"field":"order_id"},` +
	`{"type":"string","optional":false,"field":"user_id"},` +
	`{"type":"string","optional":false,"field":"product_id"},` +
	`{"type":"int32","optional":false,"field":"qty"},` +
	`{"type":"int64","optional":false,"field":"unit_price"},` +
	`{"type":"int64","optional":false,"field":"total_price"},` +
	`{"type":"string","optional":false,"field":"status"},` +
	`{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"created_at"},` +
	`{"type":"string","optional":true,"field":"reason"}],` +
	`"optional":false,"name":"orders"},` +
	`"payload":{"order_id":"0190b8a4-7c3e-7d2a-9f1e-2b3c4d5e6f70","user_id":"user-42","product_id":"CATALOG-0001",` +
	`"qty":5,"unit_price":1200,"total_price":6000,"status":"PENDING","created_at":1731622400000,"reason":null}}`
