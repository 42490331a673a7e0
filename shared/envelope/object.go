package envelope

import (
	"bytes"
	"fmt"
	"math"
)

// ReadObject reads data, which must be one JSON object and nothing else, with the
// envelope's own strict syntax (RFC 8259, valid UTF-8 in strings, bounded nesting, no
// member name twice in any object, as I-JSON requires). It calls member for each member
// with its name (valid only during the call) and a *Value at the member's value; a
// value that member does not read is skipped, and validated all the same. It is the
// one JSON syntax layer of the other documents ordersync reads, such as create-order's
// request body.
//
// Errors are *PathError: ErrType (Path "") when data is some other JSON value,
// ErrDuplicateKey (an ErrSyntax) naming the member, ErrSyntax, or member's own error.
func ReadObject(data []byte, member func(name []byte, v *Value) error) error {
	v := Value{sc: scanner{data: data}}
	sc := &v.sc
	if c := sc.peek(); c != '{' {
		// Malformed JSON is a syntax error whatever it starts with; only a valid
		// document that is another value is the wrong type.
		if err := sc.skip(1); err != nil {
			return err
		}
		if err := sc.end(); err != nil {
			return err
		}
		return &PathError{Err: fmt.Errorf("%w: got %s, want object", ErrType, kind(c))}
	}
	if err := v.members(member); err != nil {
		return err
	}
	return sc.end()
}

// A Value is a JSON value being read by ReadObject.
type Value struct {
	sc    scanner
	depth int // of the objects and arrays being read around it
}

// Object reads an object value, calling member for each member as ReadObject does: with
// its name (valid only during the call) and the Value at the member's value, which is
// skipped, and validated all the same, when member does not read it. A member name given
// twice is ErrDuplicateKey; another value than an object is ErrType.
func (v *Value) Object(member func(name []byte, v *Value) error) error {
	if err := v.enter('{', "object"); err != nil {
		return err
	}
	defer v.leave()
	return v.members(member)
}

// members reads the object that comes next, for ReadObject and Object.
func (v *Value) members(member func(name []byte, v *Value) error) error {
	sc := &v.sc
	var names keySet
	for name, err := range sc.members(&names) {
		if err != nil {
			return err
		}
		sc.ws() // a member that only peeks at its value has not read it
		at := sc.pos
		if err := member(name, v); err != nil {
			return err
		}
		if err := v.skipUnread(at); err != nil {
			return err
		}
	}
	return nil
}

// Array reads an array value, calling element for each element with the Value at it,
// which is skipped, and validated all the same, when element does not read it. Another
// value than an array is ErrType.
func (v *Value) Array(element func(v *Value) error) error {
	if err := v.enter('[', "array"); err != nil {
		return err
	}
	defer v.leave()
	for _, err := range v.sc.elements() {
		if err != nil {
			return err
		}
		v.sc.ws()
		at := v.sc.pos
		if err := element(v); err != nil {
			return err
		}
		if err := v.skipUnread(at); err != nil {
			return err
		}
	}
	return nil
}

// enter checks that an object or array (open) comes next, within the nesting limit.
func (v *Value) enter(open byte, want string) error {
	if v.sc.peek() != open {
		return v.sc.wrongKind(want)
	}
	if v.depth >= maxDepth {
		return v.sc.syntax("nested too deeply")
	}
	v.depth++
	return nil
}

func (v *Value) leave() { v.depth-- }

// skipUnread skips the value at offset at if the caller left the scanner there.
func (v *Value) skipUnread(at int) error {
	if v.sc.pos == at {
		return v.sc.skip(v.depth + 1)
	}
	return nil
}

// Null reads a null if one comes next, and reports whether it did.
func (v *Value) Null() (bool, error) { return v.sc.null() }

// Int reads an integer of the Connect integer type t (Int8 to Int64): a fraction, an
// exponent or a value out of t's range is an error.
func (v *Value) Int(t Type) (int64, error) { return v.sc.intValue(t) }

// Kind returns the first byte of the value: '{', '[', '"', 't', 'f', 'n', or '0' for
// any number.
func (v *Value) Kind() byte {
	switch c := v.sc.peek(); c {
	case '{', '[', '"', 't', 'f', 'n':
		return c
	}
	return '0'
}

// Text reads a string value.
func (v *Value) Text() (string, error) { return v.sc.stringValue() }

// AppendText reads a string value, as Text does, and appends its contents to dst: a
// reader keeping many strings carves them out of one buffer instead of allocating
// each.
func (v *Value) AppendText(dst []byte) ([]byte, error) { return v.sc.appendStringValue(dst) }

// Number reads a number and returns its text, and whether it is an integer literal
// (no fraction, no exponent).
func (v *Value) Number() (text []byte, isInt bool, err error) { return v.sc.number() }

// Skip reads over the value, validating it.
func (v *Value) Skip() error { return v.sc.skip(v.depth + 1) }

// SignedBytes reads an array of integers from -128 to 127, as Java writes a byte[] as a
// list of numbers, and appends them to dst as bytes. A value that is not an integer is
// ErrType; one out of that range is ErrRange. null is not an array: see Null.
func (v *Value) SignedBytes(dst []byte) ([]byte, error) {
	sc := &v.sc
	if err := v.enter('[', "array"); err != nil {
		return dst, err
	}
	defer v.leave()
	sc.pos++
	for more, err := sc.arrayStart(); more || err != nil; more, err = sc.arrayNext() {
		if err != nil {
			return dst, err
		}
		sc.ws()
		n, end, ok := smallInt(sc.data, sc.pos)
		if !ok {
			n, err := sc.intFast(Int8, math.MinInt8, math.MaxInt8)
			if err != nil {
				return dst, err
			}
			dst = append(dst, byte(n))
			continue
		}
		dst = append(dst, byte(n))
		sc.pos = end
		// The compact form, "1,-2,3", in one loop; anything else (white space, the end
		// of the array, an error) is left to the loop around it.
		for sc.pos < len(sc.data) && sc.data[sc.pos] == ',' {
			n, end, ok := smallInt(sc.data, sc.pos+1)
			if !ok {
				break
			}
			dst = append(dst, byte(n))
			sc.pos = end
		}
	}
	return dst, nil
}

// smallInt reads at d[i] an integer literal from -128 to 127 in its plain form: an
// optional minus, then 0 or up to three digits without a leading zero, then no fraction
// or exponent. ok is false for anything else, which the general path reads or refuses.
func smallInt(d []byte, i int) (n int, end int, ok bool) {
	neg := i < len(d) && d[i] == '-'
	if neg {
		i++
	}
	if i >= len(d) || d[i] < '0' || d[i] > '9' {
		return 0, 0, false
	}
	n, i = int(d[i]-'0'), i+1
	if n != 0 { // no digit may follow a leading zero
		for k := 0; k < 2 && i < len(d) && d[i] >= '0' && d[i] <= '9'; k++ {
			n, i = n*10+int(d[i]-'0'), i+1
		}
	}
	if i < len(d) {
		switch c := d[i]; {
		case c >= '0' && c <= '9', c == '.', c == 'e', c == 'E':
			return 0, 0, false
		}
	}
	if neg {
		n = -n
	}
	if n < math.MinInt8 || n > math.MaxInt8 {
		return 0, 0, false
	}
	return n, i, true
}

// Bool reads true or false.
func (v *Value) Bool() (bool, error) { return v.sc.boolValue() }

// MemberName returns the one of names that name is, matched as encoding/json matches a
// member to a struct field: exactly, or else ignoring case (bytes.EqualFold); "" for
// none. Readers of documents that encoding/json reads elsewhere use it to read the same.
func MemberName(name []byte, names []string) string {
	for _, n := range names {
		if string(name) == n {
			return n
		}
	}
	for _, n := range names {
		if bytes.EqualFold(name, []byte(n)) {
			return n
		}
	}
	return ""
}

// SetText reads a string into s, or null, which leaves s as it is: what encoding/json
// does with a string field.
func (v *Value) SetText(s *string) error {
	if null, err := v.Null(); null || err != nil {
		return err
	}
	t, err := v.Text()
	if err == nil {
		*s = t
	}
	return err
}

// SetInt reads an integer of the Connect integer type t into n, or null, which leaves n
// as it is: what encoding/json does with an integer field.
func (v *Value) SetInt(t Type, n *int64) error {
	if null, err := v.Null(); null || err != nil {
		return err
	}
	i, err := v.Int(t)
	if err == nil {
		*n = i
	}
	return err
}

// SetBool reads true or false into b, or null, which leaves b as it is: what
// encoding/json does with a boolean field.
func (v *Value) SetBool(b *bool) error {
	if null, err := v.Null(); null || err != nil {
		return err
	}
	t, err := v.Bool()
	if err == nil {
		*b = t
	}
	return err
}
