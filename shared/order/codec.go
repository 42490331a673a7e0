package order

import (
	"github.com/ordersync/ordersync/shared/envelope"
)

// Codec writes and reads order records: Kafka Connect JSON envelopes (JsonConverter,
// schemas.enable=true) whose schema is the struct "orders" of docs/record-format.md.
// It is built on first use, or by Codec.Build, which the functions call while they wait
// for their first event: building it by reflection is a millisecond of a cold start.
// Order's tags are fixed at compile time, so it cannot fail to build but by a
// programming mistake that every test of this package reports.
var Codec = envelope.LazyCodec[Order]("orders")
