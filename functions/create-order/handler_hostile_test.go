package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/order"
)

// TestHostileBodies sends inputs built to break a parser or a downstream system: huge
// and deeply nested bodies, invalid UTF-8, NaN-like and overflowing numbers, unicode and
// SQL metacharacters in every string field. Each gets its specific answer; none crashes
// the handler, and none of the refused ones produces a record.
func TestHostileBodies(t *testing.T) {
	s := newStack(t)
	ctx := lambdaCtx(t, "req-hostile", 30*time.Second)
	const (
		qtyRange   = "must be an integer between 1 and 10000"
		priceRange = "must be an integer between 1 and 1000000000"
		nameChars  = "must contain only letters A-Z a-z, digits 0-9, '_' and '-'"
		integer    = "must be an integer"
	)
	fe := func(kv ...string) []order.FieldError {
		var errs []order.FieldError
		for i := 0; i < len(kv); i += 2 {
			errs = append(errs, order.FieldError{Field: kv[i], Message: kv[i+1]})
		}
		return errs
	}
	body := func(product, qty, price string) string {
		return `{"productId": ` + product + `, "qty": ` + qty + `, "unitPrice": ` + price + `}`
	}
	deep := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	deepOK := `{"productId": "P", "qty": 1, "unitPrice": 1, "x": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`
	deepInBudget := `{"productId": "P", "qty": 1, "unitPrice": 1, "x": ` + strings.Repeat("[", 30000) + strings.Repeat("]", 30000) + `}`
	tests := []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		errs   []order.FieldError
	}{
		// size and shape
		{"huge body, 1 MiB", post("user-1", `{"productId": "`+strings.Repeat("P", 1<<20)+`"}`), 413, nil},
		{"huge body, 10 MiB of spaces", post("user-1", strings.Repeat(" ", 10<<20)), 413, nil},
		{"deep nesting over 64 KiB", post("user-1", deep), 413, nil},
		{"nesting deeper than 10000 within 64 KiB", post("user-1", deepInBudget), 400, nil},
		{"nesting of 100 in an ignored field", post("user-1", deepOK), 201, nil},
		{"deep nesting, unbalanced", post("user-1", strings.Repeat("[", 60000)), 400, nil},
		{"top-level string", post("user-1", `"order"`), 400, nil},
		{"top-level null", post("user-1", `null`), 400, nil},
		{"two objects", post("user-1", designBody+designBody), 400, nil},
		{"NUL byte", post("user-1", "{\x00}"), 400, nil},
		{"BOM before the object", post("user-1", "\ufeff"+designBody), 400, nil},
		// encoding
		// JSON text is UTF-8 (RFC 8259 §8.1): invalid UTF-8 anywhere, in an ignored member
		// too, is malformed JSON, as the envelope decoder holds it.
		{"invalid UTF-8 in productId", post("user-1", body("\"P\xff\xfe\"", "1", "1")), 400, nil},
		{"invalid UTF-8 in an ignored field", post("user-1", `{"productId": "P", "qty": 1, "unitPrice": 1, "note": "`+"\xc3\x28"+`"}`), 400, nil},
		{"lone surrogate escape in productId", post("user-1", body(`"P\ud800"`, "1", "1")), 422, fe("productId", nameChars)},
		{"escaped NUL in productId", post("user-1", body(`"P\u0000"`, "1", "1")), 422, fe("productId", nameChars)},
		{"unicode productId", post("user-1", body(`"CATALOG-０００１"`, "1", "1")), 422, fe("productId", nameChars)},
		{"emoji productId", post("user-1", body(`"😀"`, "1", "1")), 422, fe("productId", nameChars)},
		{"unicode userId", post("usér-1", designBody), 422, fe("userId", nameChars)},
		{"escaped ASCII productId is the same id", post("user-1", body(`"CATALOG\u002d0001"`, "1", "1")), 201, nil},
		// numbers
		{"NaN", post("user-1", body(`"P"`, "NaN", "1")), 400, nil},
		{"Infinity", post("user-1", body(`"P"`, "1", "Infinity")), 400, nil},
		{"-Infinity", post("user-1", body(`"P"`, "-Infinity", "1")), 400, nil},
		{"hex number", post("user-1", body(`"P"`, "0x10", "1")), 400, nil},
		{"leading zero", post("user-1", body(`"P"`, "01", "1")), 400, nil},
		{"plus sign", post("user-1", body(`"P"`, "+1", "1")), 400, nil},
		{"NaN as a string", post("user-1", body(`"P"`, `"NaN"`, "1")), 422, fe("qty", integer)},
		{"qty 2^63", post("user-1", body(`"P"`, "9223372036854775808", "1")), 422, fe("qty", qtyRange)},
		{"qty -2^63-1", post("user-1", body(`"P"`, "-9223372036854775809", "1")), 422, fe("qty", qtyRange)},
		{"qty 2^31", post("user-1", body(`"P"`, "2147483648", "1")), 422, fe("qty", qtyRange)},
		{"unitPrice 2^63", post("user-1", body(`"P"`, "1", "9223372036854775808")), 422, fe("unitPrice", priceRange)},
		{"unitPrice 2^64+1", post("user-1", body(`"P"`, "1", "18446744073709551617")), 422, fe("unitPrice", priceRange)},
		{"unitPrice 1e400", post("user-1", body(`"P"`, "1", "1e400")), 422, fe("unitPrice", integer)},
		{"unitPrice 400 digits", post("user-1", body(`"P"`, "1", strings.Repeat("9", 400))), 422, fe("unitPrice", priceRange)},
		{"qty -0", post("user-1", body(`"P"`, "-0", "1")), 422, fe("qty", qtyRange)},
		{"qty 1e-400", post("user-1", body(`"P"`, "1e-400", "1")), 422, fe("qty", integer)},
		{"largest total", post("user-1", body(`"P"`, "10000", "1000000000")), 201, nil},
		{"qty true", post("user-1", body(`"P"`, "true", "1")), 422, fe("qty", integer)},
		{"qty null", post("user-1", body(`"P"`, "null", "1")), 422, fe("qty", "is required")},
		{"qty array", post("user-1", body(`"P"`, "[1]", "1")), 422, fe("qty", integer)},
		// SQL metacharacters and backticks in every string field
		{"SQL in productId", post("user-1", body(`"x'; DROP TABLE orders; --"`, "1", "1")), 422, fe("productId", nameChars)},
		{"backticks in productId", post("user-1", body("\"`orders`\"", "1", "1")), 422, fe("productId", nameChars)},
		{"SQL in userId", post("x';DELETE FROM orders;--", designBody), 422, fe("userId", nameChars)},
		{"backticks in userId", post("`orders`", designBody), 422, fe("userId", nameChars)},
		{"path traversal in userId", post("../../etc", designBody), 422, fe("userId", nameChars)},
		{"SQL in the Idempotency-Key is only hashed", post("user-1", designBody, "idempotency-key", "k'`\";DROP/**/TABLE/**/orders;--"), 201, nil},
		{"SQL in a JWT sub", withSub(post("", designBody), "a' OR '1'='1"), 422, fe("userId", nameChars)},
		{"control characters in the Idempotency-Key", post("user-1", designBody, "idempotency-key", "a\x00b"), 422,
			fe("Idempotency-Key", "must be 1-255 visible ASCII characters")},
	}
	created := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := s.h.Handle(ctx, tt.req)
			if err != nil {
				t.Fatalf("Handle returned an error (a 5xx from API Gateway): %v", err)
			}
			if tt.status == 201 {
				decodeCreated(t, resp)
				created++
				return
			}
			checkProblem(t, resp, tt.status, tt.errs)
		})
	}
	if n := s.endOffset(t); n != int64(created) {
		t.Errorf("%d records for %d accepted requests", n, created)
	}
}
