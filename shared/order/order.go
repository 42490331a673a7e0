// Package order provides the order model, its rules and its ids.
package order

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Status is the state of an order as it moves through the pipeline.
type Status string

// The states an order can be in.
const (
	Pending  Status = "PENDING"  // submitted over HTTP, not yet validated
	Accepted Status = "ACCEPTED" // validated; the sink writes it to the orders table
	Rejected Status = "REJECTED" // failed validation; Reason says why
)

// Valid reports whether s is one of Pending, Accepted or Rejected.
func (s Status) Valid() bool {
	return s == Pending || s == Accepted || s == Rejected
}

// Record headers. Every record carries HeaderEvent; dead-letter records also carry the
// HeaderError and HeaderSource* headers next to the original key, value and headers.
const (
	HeaderEvent = "ordersync-event"

	EventSubmitted = "OrderSubmitted"
	EventAccepted  = "OrderAccepted"
	EventRejected  = "OrderRejected"

	HeaderError           = "ordersync-error"
	HeaderSourceTopic     = "ordersync-source-topic"
	HeaderSourcePartition = "ordersync-source-partition"
	HeaderSourceOffset    = "ordersync-source-offset"

	// HeaderValueTruncated and HeaderKeyTruncated mark a dead letter whose original value
	// (or key) was too large to forward whole: the header holds the original length in
	// bytes and the record its first bytes. The whole record stays in the source topic at
	// the source offset.
	HeaderValueTruncated = "ordersync-value-truncated"
	HeaderKeyTruncated   = "ordersync-key-truncated"
)

// Limits of the order rules.
const (
	MaxNameLen   = 64         // userId and productId: 1–64 chars of [A-Za-z0-9_-]
	MinQty       = 1          // qty: 1–10000
	MaxQty       = 10000      //
	MinUnitPrice = 1          // unitPrice: 1–1000000000
	MaxUnitPrice = 1000000000 //
	MaxKeyLen    = 255        // Idempotency-Key: 1–255 visible ASCII chars
)

// Order is one order as it travels through Kafka: the value of every record on
// orders.submitted, orders and orders.rejected (a struct named "orders").
type Order struct {
	OrderID    string    `connect:"order_id"`
	UserID     string    `connect:"user_id"`
	ProductID  string    `connect:"product_id"`
	Qty        int32     `connect:"qty"`
	UnitPrice  int64     `connect:"unit_price"`
	TotalPrice int64     `connect:"total_price"`
	Status     Status    `connect:"status"`
	CreatedAt  time.Time `connect:"created_at,timestamp"`
	Reason     string    `connect:"reason,optional"`
}

// FieldError is one broken rule: the field it concerns and a message for people.
type FieldError struct {
	Field   string
	Message string
}

// Error returns "field: message".
func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// Errors of this package.
var (
	ErrOverflow  = errors.New("total price overflows int64") // Total
	ErrSyntax    = errors.New("body is not valid JSON")      // Request.UnmarshalJSON
	ErrNotObject = errors.New("body is not a JSON object")   // Request.UnmarshalJSON
	ErrDuplicate = errors.New("body has a member twice")     // Request.UnmarshalJSON
)

// Messages of the rules, shared by Order.Check and Request.Order.
const (
	msgRequired  = "is required"
	msgInteger   = "must be an integer"
	msgNameLen   = "must be at most 64 characters"
	msgNameChars = "must contain only letters A-Z a-z, digits 0-9, '_' and '-'"
	msgQty       = "must be an integer between 1 and 10000"
	msgUnitPrice = "must be an integer between 1 and 1000000000"
	msgOverflow  = "qty × unitPrice overflows a 64-bit integer"
)

// Total returns qty × unitPrice, or ErrOverflow when the product does not fit in an int64.
func Total(qty, unitPrice int64) (int64, error) {
	if qty == 0 || unitPrice == 0 {
		return 0, nil
	}
	t := qty * unitPrice
	if t/unitPrice != qty || (qty == -1 && unitPrice == math.MinInt64) || (unitPrice == -1 && qty == math.MinInt64) {
		return 0, ErrOverflow
	}
	return t, nil
}

// Check returns every rule o breaks, in field order, or nil when o is valid. Field names
// are the record's (order_id, user_id, …). The rules are docs/http-api.md's: ids 1–64 chars of
// [A-Za-z0-9_-], qty 1–10000, unit price 1–1000000000, total = qty × unit price, a known
// status, a set creation time, and an order id that is a UUID.
func (o *Order) Check() []FieldError {
	var errs []FieldError
	if o.OrderID == "" {
		errs = append(errs, FieldError{"order_id", msgRequired})
	} else if _, err := uuid.Parse(o.OrderID); err != nil || len(o.OrderID) != 36 {
		errs = append(errs, FieldError{"order_id", "must be a UUID in its 36-character form"})
	}
	if m := checkName(o.UserID); m != "" {
		errs = append(errs, FieldError{"user_id", m})
	}
	if m := checkName(o.ProductID); m != "" {
		errs = append(errs, FieldError{"product_id", m})
	}
	qtyOK := o.Qty >= MinQty && o.Qty <= MaxQty
	if !qtyOK {
		errs = append(errs, FieldError{"qty", msgQty})
	}
	priceOK := o.UnitPrice >= MinUnitPrice && o.UnitPrice <= MaxUnitPrice
	if !priceOK {
		errs = append(errs, FieldError{"unit_price", msgUnitPrice})
	}
	if total, err := Total(int64(o.Qty), o.UnitPrice); err != nil {
		errs = append(errs, FieldError{"total_price", msgOverflow})
	} else if total != o.TotalPrice {
		errs = append(errs, FieldError{"total_price", "must equal qty × unit_price (" + strconv.FormatInt(total, 10) + ")"})
	}
	if !o.Status.Valid() {
		errs = append(errs, FieldError{"status", "must be PENDING, ACCEPTED or REJECTED"})
	}
	if o.CreatedAt.IsZero() {
		errs = append(errs, FieldError{"created_at", msgRequired})
	}
	return errs
}

// checkName returns the message for a userId / productId that breaks its rule, or "".
func checkName(s string) string {
	if s == "" {
		return msgRequired
	}
	if len(s) > MaxNameLen {
		return msgNameLen
	}
	for i := 0; i < len(s); i++ {
		if !nameChar[s[i]] {
			return msgNameChars
		}
	}
	return ""
}

// nameChar marks the bytes allowed in a userId or productId: [A-Za-z0-9_-].
var nameChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['_'], t['-'] = true, true
	return t
}()

// ValidKey reports whether key is a usable Idempotency-Key: 1–255 visible ASCII
// characters (0x21–0x7E).
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}
