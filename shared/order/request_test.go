package order

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const testID = "0b4f3d4e-9a7c-5d2e-8f10-2a3b4c5d6e7f"

func TestRequestSyntax(t *testing.T) {
	tests := []struct {
		name, body string
		err        error
	}{
		{"empty", "", ErrSyntax},
		{"spaces", "  \n", ErrSyntax},
		{"truncated", `{"productId": "A", "qty": 5`, ErrSyntax},
		{"trailing comma", `{"qty": 5,}`, ErrSyntax},
		{"two values", `{} {}`, ErrSyntax},
		{"single quotes", `{'qty': 5}`, ErrSyntax},
		{"bad escape", `{"productId": "\x"}`, ErrSyntax},
		{"invalid utf-8", "{\"productId\": \"\xff\"}", ErrSyntax},
		{"invalid utf-8 in an ignored member", "{\"note\": \"\xff\"}", ErrSyntax},
		{"byte order mark", "\ufeff{}", ErrSyntax},
		{"leading zero", `{"qty": 05}`, ErrSyntax},
		{"nested too deeply", `{"a":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, ErrSyntax},
		{"duplicate member", `{"productId": "P", "qty": 20000, "qty": 2, "unitPrice": 3}`, ErrDuplicate},
		{"duplicate escaped member", `{"qty": 2, "q\u0074y": 2}`, ErrDuplicate},
		{"duplicate unknown member", `{"note": 1, "note": 1}`, ErrDuplicate},
		{"duplicate nested member", `{"extra": [{"a": 1, "a": 2}]}`, ErrDuplicate},
		{"array", `[1, 2]`, ErrNotObject},
		{"string", `"order"`, ErrNotObject},
		{"null", `null`, ErrNotObject},
		{"empty object", `{}`, nil},
		{"object", ` {"productId": "A", "qty": 1, "unitPrice": 1} `, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			if err := r.UnmarshalJSON([]byte(tt.body)); !errors.Is(err, tt.err) {
				t.Errorf("UnmarshalJSON(%q) = %v, want %v", tt.body, err, tt.err)
			}
		})
	}
}

func TestRequestOrder(t *testing.T) {
	ok := func(product string, qty int32, unit int64) Order {
		total, _ := Total(int64(qty), unit)
		return Order{OrderID: testID, UserID: "user-1", ProductID: product, Qty: qty, UnitPrice: unit,
			TotalPrice: total, Status: Pending, CreatedAt: created}
	}
	tests := []struct {
		name, user, body string
		want             Order
		errs             []FieldError
	}{
		{"design example", "user-1", `{"productId": "CATALOG-0001", "qty": 5, "unitPrice": 1200}`, ok("CATALOG-0001", 5, 1200), nil},
		{"quantity alias", "user-1", `{"productId": "P", "quantity": 7, "unitPrice": 3}`, ok("P", 7, 3), nil},
		{"qty and equal quantity", "user-1", `{"productId": "P", "qty": 7, "quantity": 7, "unitPrice": 3}`, ok("P", 7, 3), nil},
		{"client total ignored", "user-1", `{"productId": "P", "qty": 2, "unitPrice": 3, "totalPrice": 1}`, ok("P", 2, 3), nil},
		{"unknown members skipped", "user-1", `{"a": {"b": [1, "}", {"c": null}]}, "productId": "P", "x": [], "qty": 2, "y": "]", "unitPrice": 3, "z": true}`, ok("P", 2, 3), nil},
		{"escaped names and values", "user-1", `{"product\u0049d": "CAT\u0041LOG\/1", "q\u0074y": 2, "unitPrice": 3}`, Order{},
			[]FieldError{{"productId", msgNameChars}}},
		{"escaped valid product", "user-1", `{"productId": "\u0041-\u005f", "qty": 2, "unitPrice": 3}`, ok("A-_", 2, 3), nil},
		{"limits", "user-1", `{"productId": "` + strings.Repeat("p", 64) + `", "qty": 10000, "unitPrice": 1000000000}`,
			ok(strings.Repeat("p", 64), 10000, 1000000000), nil},
		{"lower limits", "u", `{"productId": "p", "qty": 1, "unitPrice": 1}`,
			Order{OrderID: testID, UserID: "u", ProductID: "p", Qty: 1, UnitPrice: 1, TotalPrice: 1, Status: Pending, CreatedAt: created}, nil},

		{"empty object", "user-1", `{}`, Order{}, []FieldError{
			{"productId", "is required"}, {"qty", "is required"}, {"unitPrice", "is required"}}},
		{"nulls are missing", "user-1", `{"productId": null, "qty": null, "unitPrice": null}`, Order{}, []FieldError{
			{"productId", "is required"}, {"qty", "is required"}, {"unitPrice", "is required"}}},
		{"bad user", "user 1", `{"productId": "P", "qty": 1, "unitPrice": 1}`, Order{}, []FieldError{{"userId", msgNameChars}}},
		{"long user", strings.Repeat("u", 65), `{"productId": "P", "qty": 1, "unitPrice": 1}`, Order{}, []FieldError{{"userId", msgNameLen}}},
		{"empty user", "", `{"productId": "P", "qty": 1, "unitPrice": 1}`, Order{}, []FieldError{{"userId", "is required"}}},
		{"empty product", "user-1", `{"productId": "", "qty": 1, "unitPrice": 1}`, Order{}, []FieldError{{"productId", "is required"}}},
		{"long product", "user-1", `{"productId": "` + strings.Repeat("p", 65) + `", "qty": 1, "unitPrice": 1}`, Order{}, []FieldError{{"productId", msgNameLen}}},
		{"product dot", "user-1", `{"productId": "a.b", "qty": 1, "unitPrice": 1}`, Order{}, []FieldError{{"productId", msgNameChars}}},
		{"qty zero", "user-1", `{"productId": "P", "qty": 0, "unitPrice": 1}`, Order{}, []FieldError{{"qty", msgQty}}},
		{"qty negative", "user-1", `{"productId": "P", "qty": -1, "unitPrice": 1}`, Order{}, []FieldError{{"qty", msgQty}}},
		{"qty too big", "user-1", `{"productId": "P", "qty": 10001, "unitPrice": 1}`, Order{}, []FieldError{{"qty", msgQty}}},
		{"qty beyond int64", "user-1", `{"productId": "P", "qty": 99999999999999999999999, "unitPrice": 1}`, Order{}, []FieldError{{"qty", msgQty}}},
		{"qty beyond -int64", "user-1", `{"productId": "P", "qty": -99999999999999999999999, "unitPrice": 1}`, Order{}, []FieldError{{"qty", msgQty}}},
		{"qty fraction", "user-1", `{"productId": "P", "qty": 1.5, "unitPrice": 1}`, Order{}, []FieldError{{"qty", "must be an integer"}}},
		{"qty exponent", "user-1", `{"productId": "P", "qty": 1e2, "unitPrice": 1}`, Order{}, []FieldError{{"qty", "must be an integer"}}},
		{"qty string", "user-1", `{"productId": "P", "qty": "5", "unitPrice": 1}`, Order{}, []FieldError{{"qty", "must be an integer"}}},
		{"quantity too big", "user-1", `{"productId": "P", "quantity": 10001, "unitPrice": 1}`, Order{}, []FieldError{{"quantity", msgQty}}},
		{"quantity string", "user-1", `{"productId": "P", "quantity": "1", "unitPrice": 1}`, Order{}, []FieldError{{"quantity", "must be an integer"}}},
		{"qty and different quantity", "user-1", `{"productId": "P", "qty": 2, "quantity": 3, "unitPrice": 1}`, Order{}, []FieldError{
			{"quantity", "is an alias of qty and must not differ from it"}}},
		{"qty and bad quantity", "user-1", `{"productId": "P", "qty": 2, "quantity": [2], "unitPrice": 1}`, Order{}, []FieldError{
			{"quantity", "must be an integer"}}},
		{"product number", "user-1", `{"productId": 42, "qty": 1, "unitPrice": 1}`, Order{}, []FieldError{{"productId", "must be a string"}}},
		{"unit price zero", "user-1", `{"productId": "P", "qty": 1, "unitPrice": 0}`, Order{}, []FieldError{{"unitPrice", msgUnitPrice}}},
		{"unit price too big", "user-1", `{"productId": "P", "qty": 1, "unitPrice": 1000000001}`, Order{}, []FieldError{{"unitPrice", msgUnitPrice}}},
		{"unit price object", "user-1", `{"productId": "P", "qty": 1, "unitPrice": {"amount": 1}}`, Order{}, []FieldError{{"unitPrice", "must be an integer"}}},
		{"unit price bool", "user-1", `{"productId": "P", "qty": 1, "unitPrice": true}`, Order{}, []FieldError{{"unitPrice", "must be an integer"}}},
		{"every field wrong", "", `{"productId": "no spaces", "qty": 0, "unitPrice": -5}`, Order{}, []FieldError{
			{"userId", "is required"}, {"productId", msgNameChars}, {"qty", msgQty}, {"unitPrice", msgUnitPrice}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			if err := r.UnmarshalJSON([]byte(tt.body)); err != nil {
				t.Fatalf("UnmarshalJSON: %v", err)
			}
			got, errs := r.Order(tt.user, testID, created.Add(456*time.Microsecond).In(time.FixedZone("X", 3600)))
			if !reflect.DeepEqual(errs, tt.errs) {
				t.Fatalf("errors = %q\nwant     %q", errs, tt.errs)
			}
			if got != tt.want {
				t.Errorf("order = %+v\nwant    %+v", got, tt.want)
			}
			if tt.errs == nil {
				if errs := got.Check(); errs != nil {
					t.Errorf("order from a valid request breaks rules: %q", errs)
				}
			}
		})
	}
}

// TestRequestViaEncodingJSON shows Request works as a json.Unmarshaler too.
func TestRequestViaEncodingJSON(t *testing.T) {
	var r Request
	if err := json.Unmarshal([]byte(`{"productId": "P", "quantity": 3, "unitPrice": 4}`), &r); err != nil {
		t.Fatal(err)
	}
	o, errs := r.Order("user-1", testID, created)
	if errs != nil || o.Qty != 3 || o.TotalPrice != 12 {
		t.Fatalf("order %+v, errors %q", o, errs)
	}
}

// TestStringEscapes: the body's strings are unescaped by the envelope's scanner, the
// same way encoding/json does it.
func TestStringEscapes(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`plain`, "plain"},
		{`a\"b\\c\/d`, `a"b\c/d`},
		{`\b\f\n\r\t`, "\b\f\n\r\t"},
		{`\u00e9\u00E9`, "éé"},
		{`\ud83d\ude00`, "😀"},
		{`\ud83d`, "\uFFFD"},
		{`\ud83dx`, "\uFFFDx"},
	}
	for _, tt := range tests {
		var r Request
		if err := r.UnmarshalJSON([]byte(`{"productId":"` + tt.raw + `"}`)); err != nil || r.ProductID != tt.want {
			t.Errorf("productId %s = %q, %v; want %q", tt.raw, r.ProductID, err, tt.want)
		}
		var viaJSON string
		if err := json.Unmarshal([]byte(`"`+tt.raw+`"`), &viaJSON); err != nil || viaJSON != tt.want {
			t.Errorf("encoding/json disagrees on %s: %q, %v", tt.raw, viaJSON, err)
		}
	}
}

// FuzzRequest checks the request parser against encoding/json on any bytes: it refuses
// exactly the malformed JSON (and, stricter, I-JSON's invalid UTF-8, duplicate members and
// deep nesting), and reads productId as encoding/json does.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{`{"productId": "P", "qty": 1, "unitPrice": 1}`, `{"a": [{"b": "}"}], "qty": -0}`, `{"productId": "\ud83d\ude00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Request
		err := r.UnmarshalJSON(data)
		// Stricter than encoding/json only where I-JSON is: invalid UTF-8, a member
		// twice, and (bounding the stack) deep nesting.
		strict := !utf8.Valid(data) || errors.Is(err, ErrDuplicate) || err != nil && strings.Contains(err.Error(), "nested too deeply")
		// Malformed JSON is ErrSyntax, or ErrDuplicate when a member came twice before
		// the fault (both are refused with 400).
		if !json.Valid(data) && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrDuplicate) || json.Valid(data) && errors.Is(err, ErrSyntax) && !strict {
			t.Fatalf("UnmarshalJSON(%q) = %v, json.Valid = %v", data, err, json.Valid(data))
		}
		if err != nil {
			return
		}
		var m map[string]any
		if !utf8.Valid(data) || json.Unmarshal(data, &m) != nil { // encoding/json replaces invalid UTF-8
			return
		}
		if s, ok := m["productId"].(string); ok && s != r.ProductID {
			t.Fatalf("productId %q, encoding/json says %q", r.ProductID, s)
		}
	})
}
