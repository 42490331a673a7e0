package testkit

// OrderSchema is the schema of an order record value, the struct "orders" of
// docs/record-format.md, as Kafka's JsonConverter writes it (checked by hand against
// asJsonSchema): what shared/order's codec writes, and what envelope's tests read.
const OrderSchema = `{"type":"struct","fields":[` +
	`{"type":"string","optional":false,"field":"order_id"},` +
	`{"type":"string","optional":false,"field":"user_id"},` +
	`{"type":"string","optional":false,"field":"product_id"},` +
	`{"type":"int32","optional":false,"field":"qty"},` +
	`{"type":"int64","optional":false,"field":"unit_price"},` +
	`{"type":"int64","optional":false,"field":"total_price"},` +
	`{"type":"string","optional":false,"field":"status"},` +
	`{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"created_at"},` +
	`{"type":"string","optional":true,"field":"reason"}` +
	`],"optional":false,"name":"orders"}`
