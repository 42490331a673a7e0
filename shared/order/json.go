package order

import (
	"strconv"

	"github.com/ordersync/ordersync/shared/envelope"
)

// AppendJSON appends o as the HTTP API shows an order (docs/http-api.md): orderId,
// userId, productId, qty, unitPrice, totalPrice, status and createdAt (RFC 3339 in UTC,
// with milliseconds), plus reason when the status is Rejected. It is create-order's 201
// body and each order get-orders answers with.
func (o *Order) AppendJSON(b []byte) []byte {
	b = append(b, `{"orderId":`...)
	b = envelope.AppendString(b, o.OrderID)
	b = append(b, `,"userId":`...)
	b = envelope.AppendString(b, o.UserID)
	b = append(b, `,"productId":`...)
	b = envelope.AppendString(b, o.ProductID)
	b = append(b, `,"qty":`...)
	b = strconv.AppendInt(b, int64(o.Qty), 10)
	b = append(b, `,"unitPrice":`...)
	b = strconv.AppendInt(b, o.UnitPrice, 10)
	b = append(b, `,"totalPrice":`...)
	b = strconv.AppendInt(b, o.TotalPrice, 10)
	b = append(b, `,"status":`...)
	b = envelope.AppendString(b, string(o.Status))
	b = append(b, `,"createdAt":"`...)
	b = o.CreatedAt.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, '"')
	if o.Status == Rejected {
		b = append(b, `,"reason":`...)
		b = envelope.AppendString(b, o.Reason)
	}
	return append(b, '}')
}
