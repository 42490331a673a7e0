package order

import (
	"encoding/json"
	"math"
	"time"
	"unicode/utf16"
	"unicode/utf8"
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

// UnmarshalJSON decodes a request body. It returns ErrSyntax for malformed JSON and
// ErrNotObject for JSON that is not an object; everything else is left to Order.
func (r *Request) UnmarshalJSON(data []byte) error {
	*r = Request{}
	if !json.Valid(data) {
		return ErrSyntax
	}
	// data is valid JSON from here on, so the scanner below only has to tell tokens apart.
	s := scanner{data: data}
	s.space()
	if s.peek() != '{' {
		return ErrNotObject
	}
	s.i++
	for {
		s.space()
		if s.peek() == '}' {
			return nil
		}
		if s.peek() == ',' {
			s.i++
			s.space()
		}
		key, plain := s.rawString()
		if !plain {
			key = []byte(unquote(key))
		}
		s.space()
		s.i++ // ':'
		s.space()
		switch string(key) {
		case "productId":
			r.productID = s.stringValue(&r.ProductID)
		case "qty":
			r.qty = s.intValue(&r.Qty)
		case "quantity":
			r.quantity = s.intValue(&r.quantityValue)
		case "unitPrice":
			r.unitPrice = s.intValue(&r.UnitPrice)
		default:
			s.skip()
		}
	}
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
	switch r.productID {
	case absent:
		errs = append(errs, FieldError{"productId", msgRequired})
	case wrongType:
		errs = append(errs, FieldError{"productId", "must be a string"})
	default:
		if m := checkName(r.ProductID); m != "" {
			errs = append(errs, FieldError{"productId", m})
		}
	}
	qty, qtyState := r.Qty, r.qty
	switch {
	case r.qty == absent && r.quantity != absent:
		qty, qtyState = r.quantityValue, r.quantity
	case r.qty == present && r.quantity == present && r.Qty != r.quantityValue:
		errs = append(errs, FieldError{"quantity", "is an alias of qty and must not differ from it"})
	case r.qty != absent && r.quantity == wrongType:
		errs = append(errs, FieldError{"quantity", "must be an integer"})
	}
	qtyField := "qty"
	if r.qty == absent && r.quantity != absent {
		qtyField = "quantity"
	}
	qtyOK := false
	switch qtyState {
	case absent:
		errs = append(errs, FieldError{"qty", msgRequired})
	case wrongType:
		errs = append(errs, FieldError{qtyField, "must be an integer"})
	default:
		if qty < MinQty || qty > MaxQty {
			errs = append(errs, FieldError{qtyField, msgQty})
		} else {
			qtyOK = true
		}
	}
	priceOK := false
	switch r.unitPrice {
	case absent:
		errs = append(errs, FieldError{"unitPrice", msgRequired})
	case wrongType:
		errs = append(errs, FieldError{"unitPrice", "must be an integer"})
	default:
		if r.UnitPrice < MinUnitPrice || r.UnitPrice > MaxUnitPrice {
			errs = append(errs, FieldError{"unitPrice", msgUnitPrice})
		} else {
			priceOK = true
		}
	}
	var total int64
	if qtyOK && priceOK {
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

// scanner walks JSON that json.Valid has accepted.
type scanner struct {
	data []byte
	i    int
}

func (s *scanner) peek() byte {
	if s.i < len(s.data) {
		return s.data[s.i]
	}
	return 0
}

func (s *scanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// rawString consumes a string and returns its bytes between the quotes, and whether they
// hold no escape (so they are the string itself).
func (s *scanner) rawString() (raw []byte, plain bool) {
	s.i++ // opening quote
	start := s.i
	plain = true
	for s.data[s.i] != '"' {
		if s.data[s.i] == '\\' {
			plain = false
			s.i++
		}
		s.i++
	}
	raw = s.data[start:s.i]
	s.i++
	return raw, plain
}

// stringValue decodes a string or null into dst and returns the field state.
func (s *scanner) stringValue(dst *string) uint8 {
	switch s.peek() {
	case '"':
		raw, plain := s.rawString()
		if plain {
			*dst = string(raw)
		} else {
			*dst = unquote(raw)
		}
		return present
	case 'n':
		s.i += len("null")
		*dst = ""
		return absent
	}
	s.skip()
	return wrongType
}

// intValue decodes an integer or null into dst and returns the field state. Numbers
// beyond int64 saturate, so the range rules reject them with their usual message;
// fractions and exponents are the wrong type.
func (s *scanner) intValue(dst *int64) uint8 {
	c := s.peek()
	if c == 'n' {
		s.i += len("null")
		*dst = 0
		return absent
	}
	if c != '-' && (c < '0' || c > '9') {
		s.skip()
		return wrongType
	}
	neg := c == '-'
	if neg {
		s.i++
	}
	var u uint64
	over := false
	for s.i < len(s.data) && s.data[s.i] >= '0' && s.data[s.i] <= '9' {
		d := uint64(s.data[s.i] - '0')
		if u > (math.MaxUint64-d)/10 {
			over = true
		} else {
			u = u*10 + d
		}
		s.i++
	}
	if c := s.peek(); c == '.' || c == 'e' || c == 'E' {
		s.skip()
		return wrongType
	}
	switch {
	case neg && (over || u > 1<<63):
		*dst = math.MinInt64
	case neg:
		*dst = -int64(u)
	case over || u > math.MaxInt64:
		*dst = math.MaxInt64
	default:
		*dst = int64(u)
	}
	return present
}

// skip consumes one value of any type.
func (s *scanner) skip() {
	depth := 0
	for s.i < len(s.data) {
		switch c := s.data[s.i]; c {
		case '"':
			s.rawString()
			if depth == 0 {
				return
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return // end of the enclosing object
			}
			depth--
			if depth == 0 {
				s.i++
				return
			}
		case ',':
			if depth == 0 {
				return
			}
		}
		s.i++
	}
}

// unquote decodes the escapes of a valid JSON string body.
func unquote(raw []byte) string {
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(raw[i+1 : i+5])
			i += 4
			if utf16.IsSurrogate(r) && i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if r2 := utf16.DecodeRune(r, hex4(raw[i+3:i+7])); r2 != utf8.RuneError {
					r = r2
					i += 6
				}
			}
			if utf16.IsSurrogate(r) {
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
		default: // '"', '\\', '/'
			b = append(b, raw[i])
		}
	}
	return string(b)
}

func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}
