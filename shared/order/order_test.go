package order

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var created = time.Date(2026, 11, 22, 4, 0, 0, 123_000_000, time.UTC)

func validOrder() Order {
	return Order{
		OrderID:    "0b4f3d4e-9a7c-5d2e-8f10-2a3b4c5d6e7f",
		UserID:     "user-1",
		ProductID:  "CATALOG-0001",
		Qty:        5,
		UnitPrice:  1200,
		TotalPrice: 6000,
		Status:     Pending,
		CreatedAt:  created,
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		modify func(o *Order)
		want   []FieldError
	}{
		{"valid", func(*Order) {}, nil},
		{"valid rejected with reason", func(o *Order) { o.Status, o.Reason = Rejected, "out of stock" }, nil},
		{"valid limits", func(o *Order) {
			o.UserID, o.ProductID = strings.Repeat("a", 64), "A_z-09"
			o.Qty, o.UnitPrice, o.TotalPrice = MaxQty, MaxUnitPrice, MaxQty*MaxUnitPrice
		}, nil},
		{"missing order id", func(o *Order) { o.OrderID = "" }, []FieldError{{"order_id", "is required"}}},
		{"order id not a uuid", func(o *Order) { o.OrderID = "42" }, []FieldError{{"order_id", "must be a UUID in its 36-character form"}}},
		{"order id in braces", func(o *Order) { o.OrderID = "{" + validOrder().OrderID + "}" }, []FieldError{{"order_id", "must be a UUID in its 36-character form"}}},
		{"empty user", func(o *Order) { o.UserID = "" }, []FieldError{{"user_id", "is required"}}},
		{"long product", func(o *Order) { o.ProductID = strings.Repeat("p", 65) }, []FieldError{{"product_id", "must be at most 64 characters"}}},
		{"product with space", func(o *Order) { o.ProductID = "A B" }, []FieldError{{"product_id", msgNameChars}}},
		{"user with non-ascii", func(o *Order) { o.UserID = "usér" }, []FieldError{{"user_id", msgNameChars}}},
		{"qty zero", func(o *Order) { o.Qty, o.TotalPrice = 0, 0 }, []FieldError{{"qty", msgQty}}},
		{"qty too big", func(o *Order) { o.Qty, o.TotalPrice = 10001, 10001*1200 }, []FieldError{{"qty", msgQty}}},
		{"unit price zero", func(o *Order) { o.UnitPrice, o.TotalPrice = 0, 0 }, []FieldError{{"unit_price", msgUnitPrice}}},
		{"unit price too big", func(o *Order) { o.UnitPrice, o.TotalPrice = 1000000001, 5000000005 }, []FieldError{{"unit_price", msgUnitPrice}}},
		{"wrong total", func(o *Order) { o.TotalPrice = 6001 }, []FieldError{{"total_price", "must equal qty × unit_price (6000)"}}},
		{"total overflows", func(o *Order) { o.Qty, o.UnitPrice = 10, math.MaxInt64/5 }, []FieldError{
			{"unit_price", msgUnitPrice}, {"total_price", msgOverflow}}},
		{"unknown status", func(o *Order) { o.Status = "SHIPPED" }, []FieldError{{"status", "must be PENDING, ACCEPTED or REJECTED"}}},
		{"no created_at", func(o *Order) { o.CreatedAt = time.Time{} }, []FieldError{{"created_at", "is required"}}},
		{"everything wrong", func(o *Order) { *o = Order{Qty: -1, UnitPrice: -1, TotalPrice: 2} }, []FieldError{
			{"order_id", "is required"}, {"user_id", "is required"}, {"product_id", "is required"},
			{"qty", msgQty}, {"unit_price", msgUnitPrice}, {"total_price", "must equal qty × unit_price (1)"},
			{"status", "must be PENDING, ACCEPTED or REJECTED"}, {"created_at", "is required"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := validOrder()
			tt.modify(&o)
			if got := o.Check(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check() = %q\nwant      %q", got, tt.want)
			}
		})
	}
}

func TestTotal(t *testing.T) {
	tests := []struct {
		name      string
		qty, unit int64
		want      int64
		err       error
	}{
		{"design example", 5, 1200, 6000, nil},
		{"largest valid", MaxQty, MaxUnitPrice, 10_000_000_000_000, nil},
		{"zero", 0, math.MaxInt64, 0, nil},
		{"max fits", 1, math.MaxInt64, math.MaxInt64, nil},
		{"overflow", 2, math.MaxInt64/2 + 1, 0, ErrOverflow},
		{"overflow large", math.MaxInt32, math.MaxInt64 / 1000, 0, ErrOverflow},
		{"negative overflow", -1, math.MinInt64, 0, ErrOverflow},
		{"negative overflow swapped", math.MinInt64, -1, 0, ErrOverflow},
		{"negative fits", -2, 3, -6, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Total(tt.qty, tt.unit)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("Total(%d, %d) = %d, %v; want %d, %v", tt.qty, tt.unit, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestNamespace(t *testing.T) {
	want := uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/ordersync/ordersync/orders"))
	if Namespace != want {
		t.Fatalf("Namespace = %s, want %s", Namespace, want)
	}
}

func TestIDWithKey(t *testing.T) {
	a := ID("user-1", "key-1")
	if a != ID("user-1", "key-1") {
		t.Fatal("same user and key gave different ids")
	}
	if a != uuid.NewSHA1(Namespace, []byte("user-1\x00key-1")).String() {
		t.Fatalf("ID = %s, not the UUIDv5 of user + NUL + key", a)
	}
	u := uuid.MustParse(a)
	if u.Version() != 5 || u.Variant() != uuid.RFC4122 {
		t.Fatalf("ID = %s: version %d variant %s, want 5 RFC4122", a, u.Version(), u.Variant())
	}
	for _, other := range [][2]string{{"user-2", "key-1"}, {"user-1", "key-2"}, {"user-1k", "ey-1"}, {"user-", "1key-1"}} {
		if b := ID(other[0], other[1]); b == a {
			t.Errorf("ID(%q, %q) = ID(user-1, key-1) = %s", other[0], other[1], a)
		}
	}
	// Pinned: this id must never change, or retried requests would make new orders.
	if got, want := ID("user-1", "key-1"), "cd630e81-6cfb-5b76-b324-41d82ea1b8d1"; got != want {
		t.Errorf("ID(user-1, key-1) = %s, want %s", got, want)
	}
}

func TestIDWithoutKey(t *testing.T) {
	before := time.Now().UnixMilli()
	a, b := ID("user-1", ""), ID("user-1", "")
	after := time.Now().UnixMilli()
	if a == b {
		t.Fatalf("two ids without a key are equal: %s", a)
	}
	for _, s := range []string{a, b} {
		u, err := uuid.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if u.Version() != 7 || u.Variant() != uuid.RFC4122 {
			t.Errorf("ID = %s: version %d variant %s, want 7 RFC4122", s, u.Version(), u.Variant())
		}
		sec, nsec := u.Time().UnixTime()
		if ms := sec*1000 + nsec/1e6; ms < before || ms > after {
			t.Errorf("ID = %s carries %d ms, want within [%d, %d]", s, ms, before, after)
		}
	}
}

func TestValidKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"k", true},
		{"5f1c9a1e-idem-KEY_~!", true},
		{strings.Repeat("k", 255), true},
		{"", false},
		{strings.Repeat("k", 256), false},
		{"has space", false},
		{"tab\t", false},
		{"é", false},
		{"del\x7f", false},
	}
	for _, tt := range tests {
		if got := ValidKey(tt.key); got != tt.want {
			t.Errorf("ValidKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestStatusValid(t *testing.T) {
	for _, s := range []Status{Pending, Accepted, Rejected} {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
	for _, s := range []Status{"", "pending", "SHIPPED"} {
		if s.Valid() {
			t.Errorf("%q valid", s)
		}
	}
}

func TestIDLongName(t *testing.T) {
	user, key := strings.Repeat("u", 100), strings.Repeat("k", 300) // beyond the rules: the slow path
	if got, want := ID(user, key), uuid.NewSHA1(Namespace, []byte(user+"\x00"+key)).String(); got != want {
		t.Fatalf("ID = %s, want %s", got, want)
	}
	user, key = strings.Repeat("u", MaxNameLen), strings.Repeat("k", MaxKeyLen) // the longest that fits the buffer
	if got, want := ID(user, key), uuid.NewSHA1(Namespace, []byte(user+"\x00"+key)).String(); got != want {
		t.Fatalf("ID = %s, want %s", got, want)
	}
}

// TestAppendJSON: the order as the HTTP API shows it, with reason only when rejected,
// createdAt in UTC with milliseconds, and strings escaped.
func TestAppendJSON(t *testing.T) {
	pending := validOrder()
	rejected := validOrder()
	rejected.Status, rejected.Reason = Rejected, `unit_price: must be "1200"`
	rejected.CreatedAt = created.In(time.FixedZone("CET", 3600))
	accepted := validOrder()
	accepted.Status, accepted.Reason = Accepted, "ignored unless rejected"
	const common = `{"orderId":"0b4f3d4e-9a7c-5d2e-8f10-2a3b4c5d6e7f","userId":"user-1","productId":"CATALOG-0001","qty":5,"unitPrice":1200,"totalPrice":6000,`
	for _, tc := range []struct {
		name string
		o    Order
		want string
	}{
		{"pending", pending, common + `"status":"PENDING","createdAt":"2026-11-22T04:00:00.123Z"}`},
		{"accepted", accepted, common + `"status":"ACCEPTED","createdAt":"2026-11-22T04:00:00.123Z"}`},
		{"rejected", rejected, common + `"status":"REJECTED","createdAt":"2026-11-22T04:00:00.123Z","reason":"unit_price: must be \"1200\""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.o.AppendJSON([]byte("x"))); got != "x"+tc.want {
				t.Errorf("AppendJSON =\n%s\nwant\n%s", got, "x"+tc.want)
			}
		})
	}
}
