package envelope_test

import (
	"time"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/ordersync/ordersync/shared/order"
)

// sampleOrder is an order record value (docs/record-format.md) of the pipeline's own type.
func sampleOrder() order.Order {
	return order.Order{
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

func orderCodec() *envelope.Codec[order.Order] {
	c, err := envelope.NewCodec[order.Order]("orders")
	if err != nil {
		panic(err)
	}
	return c
}

// orderJSON is the order envelope, checked by hand against JsonConverter's
// asJsonSchema and convertToJson.
const orderJSON = `{"schema":` + testkit.OrderSchema + `,` +
	`"payload":{"order_id":"0190b8a4-7c3e-7d2a-9f1e-2b3c4d5e6f70","user_id":"user-42","product_id":"CATALOG-0001",` +
	`"qty":5,"unit_price":1200,"total_price":6000,"status":"PENDING","created_at":1731622400000,"reason":null}}`
