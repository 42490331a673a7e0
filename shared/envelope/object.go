package envelope

import "fmt"

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
	var names keySet
	for name, err := range sc.members(&names) {
		if err != nil {
			return err
		}
		at := sc.pos
		if err := member(name, &v); err != nil {
			return err
		}
		if sc.pos == at {
			if err := sc.skip(1); err != nil {
				return err
			}
		}
	}
	return sc.end()
}

// A Value is a JSON value being read by ReadObject.
type Value struct{ sc scanner }

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

// Number reads a number and returns its text, and whether it is an integer literal
// (no fraction, no exponent).
func (v *Value) Number() (text []byte, isInt bool, err error) { return v.sc.number() }

// Skip reads over the value, validating it.
func (v *Value) Skip() error { return v.sc.skip(1) }
