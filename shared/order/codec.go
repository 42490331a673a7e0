package order

import (
	"fmt"

	"github.com/ordersync/ordersync/shared/envelope"
)

// Codec writes and reads order records: Kafka Connect JSON envelopes (JsonConverter,
// schemas.enable=true) whose schema is the struct "orders" of docs/record-format.md.
var Codec = newCodec()

// newCodec builds Codec. Order's tags are fixed at compile time, so an error here is a
// programming mistake that every test of this package reports; it stops the program at
// start-up, as regexp.MustCompile does, never in a request.
func newCodec() *envelope.Codec[Order] {
	c, err := envelope.NewCodec[Order]("orders")
	if err != nil {
		panic(fmt.Sprintf("order codec: %v", err))
	}
	return c
}
