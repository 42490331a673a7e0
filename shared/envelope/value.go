package envelope

import (
	"math/big"
	"strings"
)

// Decimal is the value of a Connect Decimal: Unscaled × 10^-Scale.
type Decimal struct {
	Unscaled *big.Int
	Scale    int32
}

// String formats d in plain decimal notation, such as "123.45".
func (d Decimal) String() string {
	if d.Unscaled == nil {
		return "<nil>"
	}
	digits := new(big.Int).Abs(d.Unscaled).String()
	sign := ""
	if d.Unscaled.Sign() < 0 {
		sign = "-"
	}
	scale := int(d.Scale)
	switch {
	case scale <= 0:
		return sign + digits + strings.Repeat("0", -scale)
	case len(digits) <= scale:
		return sign + "0." + strings.Repeat("0", scale-len(digits)) + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}

// MapEntry is one entry of a Connect map, in the order the payload lists it.
type MapEntry struct {
	Key, Value any
}

// Struct is the generic value of a struct schema: one value per field, in the
// schema's field order.
type Struct struct {
	schema *Schema
	values []any
}

// NewStruct returns an empty Struct of schema s (every field nil).
func NewStruct(s *Schema) *Struct {
	return &Struct{schema: s, values: make([]any, len(s.Fields))}
}

// Schema returns the struct's schema.
func (s *Struct) Schema() *Schema { return s.schema }

// Get returns the value of the field called name.
func (s *Struct) Get(name string) (any, bool) {
	_, i, ok := s.schema.Field(name)
	if !ok {
		return nil, false
	}
	return s.values[i], true
}

// Set sets the field called name; it does not check v against the schema
// (Encode does).
func (s *Struct) Set(name string, v any) error {
	_, i, ok := s.schema.Field(name)
	if !ok {
		return &PathError{Path: name, Err: ErrUnknown}
	}
	s.values[i] = v
	return nil
}

// Values returns the field values in schema order. The slice is the struct's own.
func (s *Struct) Values() []any { return s.values }

// twosComplement returns n as Java's BigInteger.toByteArray does: minimal
// big-endian two's complement, at least one byte.
func twosComplement(n *big.Int) []byte {
	if n.Sign() >= 0 {
		b := n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	// -n-1 is non-negative; its bytes inverted are n's two's complement.
	m := new(big.Int).Neg(n)
	m.Sub(m, big.NewInt(1))
	b := m.Bytes()
	for i := range b {
		b[i] = ^b[i]
	}
	if len(b) == 0 || b[0]&0x80 == 0 {
		b = append([]byte{0xFF}, b...)
	}
	return b
}

// fromTwosComplement is the inverse of twosComplement.
func fromTwosComplement(b []byte) *big.Int {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return n
}
