package order

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ordersync/ordersync/shared/envelope"
)

// field states of a Request, set while decoding.
const (
	absent    uint8 = iota // not in the body, or null
	present                // decoded
	wrongType              // in the body with a value of the wrong JSON type
)

// Request is the JSON body of POST /order-service/{userId}/orders:
//
//	{"productId": "CATALOG-0001", "qty": 5, "unitPrice": 1200}
//
// "quantity" is accepted as an alias of "qty"; a body with both must give them the same
// value. Other members (a client's "totalPrice" among them) are ignored: the total is
// always computed. Decoding only fails on malformed JSON; missing members, wrong types
// and broken rules are all reported together by Order.
type Request struct {
	ProductID string
	Qty       int64 // "qty", or "quantity" when "qty" is absent
	UnitPrice int64

	productID, qty, quantity, unitPrice uint8 // field states
	quantityValue                       int64
}

// UnmarshalJSON decodes a request body with the envelope's JSON syntax layer. It returns
// ErrSyntax for malformed JSON (invalid UTF-8 included), ErrDuplicate (with the member's
// name in an *envelope.PathError) for a member given twice at any depth, and
// ErrNotObject for JSON that is not an object; everything else is left to Order.
func (r *Request) UnmarshalJSON(data []byte) error {
	*r = Request{}
	err := envelope.ReadObject(data, r.member)
	var pe *envelope.PathError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, envelope.ErrDuplicateKey):
		return fmt.Errorf("%w: %w", ErrDuplicate, err)
	case errors.Is(err, envelope.ErrType) && errors.As(err, &pe) && pe.Path == "":
		return ErrNotObject
	}
	return fmt.Errorf("%w: %w", ErrSyntax, err)
}

// member reads one member of the body.
func (r *Request) member(name []byte, v *envelope.Value) error {
	var err error
	switch string(name) {
	case "productId":
		r.productID, err = stringValue(v, &r.ProductID)
	case "qty":
		r.qty, err = intValue(v, &r.Qty)
	case "quantity":
		r.quantity, err = intValue(v, &r.quantityValue)
	case "unitPrice":
		r.unitPrice, err = intValue(v, &r.UnitPrice)
	}
	return err
}

// Order checks the request together with the path's userID and returns the order it
// describes (status Pending, CreatedAt now truncated to milliseconds in UTC, as the record
// stores it) or every broken rule, in field order. Field names are the API's: userId,
// productId, qty, quantity, unitPrice.
func (r *Request) Order(userID, orderID string, now time.Time) (Order, []FieldError) {
	var errs []FieldError
	if m := checkName(userID); m != "" {
		errs = append(errs, FieldError{"userId", m})
	}
	if m := problem(r.productID, "must be a string", checkName(r.ProductID)); m != "" {
		errs = append(errs, FieldError{"productId", m})
	}
	qty, qtyState := r.Qty, r.qty
	switch {
	case r.qty == absent && r.quantity != absent:
		qty, qtyState = r.quantityValue, r.quantity
	case r.qty == present && r.quantity == present && r.Qty != r.quantityValue:
		errs = append(errs, FieldError{"quantity", "is an alias of qty and must not differ from it"})
	case r.qty != absent && r.quantity == wrongType:
		errs = append(errs, FieldError{"quantity", msgInteger})
	}
	qtyField := "qty"
	if r.qty == absent && r.quantity != absent {
		qtyField = "quantity"
	}
	qtyMsg := problem(qtyState, msgInteger, outside(qty, MinQty, MaxQty, msgQty))
	if qtyMsg != "" {
		errs = append(errs, FieldError{qtyField, qtyMsg})
	}
	priceMsg := problem(r.unitPrice, msgInteger, outside(r.UnitPrice, MinUnitPrice, MaxUnitPrice, msgUnitPrice))
	if priceMsg != "" {
		errs = append(errs, FieldError{"unitPrice", priceMsg})
	}
	var total int64
	if qtyMsg == "" && priceMsg == "" {
		t, err := Total(qty, r.UnitPrice)
		if err != nil { // cannot happen within the limits; kept so a change of limits stays safe
			errs = append(errs, FieldError{"totalPrice", msgOverflow})
		}
		total = t
	}
	if errs != nil {
		return Order{}, errs
	}
	return Order{
		OrderID:    orderID,
		UserID:     userID,
		ProductID:  r.ProductID,
		Qty:        int32(qty),
		UnitPrice:  r.UnitPrice,
		TotalPrice: total,
		Status:     Pending,
		CreatedAt:  now.Truncate(time.Millisecond).UTC(),
	}, nil
}

// problem returns the message of a member in state st: msgRequired when it is absent,
// wrong when it has the wrong JSON type, otherwise rule (the message of the rule its
// value breaks, or "").
func problem(st uint8, wrong, rule string) string {
	switch st {
	case absent:
		return msgRequired
	case wrongType:
		return wrong
	}
	return rule
}

// outside returns msg when n is outside lo..hi, and "" otherwise.
func outside(n, lo, hi int64, msg string) string {
	if n < lo || n > hi {
		return msg
	}
	return ""
}

// stringValue decodes a string or null into dst and returns the field state.
func stringValue(v *envelope.Value, dst *string) (uint8, error) {
	switch v.Kind() {
	case '"':
		s, err := v.Text()
		*dst = s
		return present, err
	case 'n':
		*dst = ""
		return absent, v.Skip()
	}
	return wrongType, v.Skip()
}

// intValue decodes an integer or null into dst and returns the field state. Numbers
// beyond int64 saturate, so the range rules reject them with their usual message;
// fractions and exponents are the wrong type.
func intValue(v *envelope.Value, dst *int64) (uint8, error) {
	switch v.Kind() {
	case 'n':
		*dst = 0
		return absent, v.Skip()
	case '0':
	default:
		return wrongType, v.Skip()
	}
	text, isInt, err := v.Number()
	if err != nil || !isInt {
		return wrongType, err
	}
	*dst = saturate(text)
	return present, nil
}

// saturate returns the value of a JSON integer literal, or the nearest int64.
func saturate(text []byte) int64 {
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	var u uint64
	for _, c := range text {
		d := uint64(c - '0')
		if u > (math.MaxUint64-d)/10 {
			u = math.MaxUint64
			break
		}
		u = u*10 + d
	}
	switch {
	case neg && u > 1<<63:
		return math.MinInt64
	case neg:
		return -int64(u)
	case u > math.MaxInt64:
		return math.MaxInt64
	}
	return int64(u)
}
