package envelope

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 512

// scanner is a small strict JSON reader over a byte slice. It never builds a
// generic tree: callers pull exactly the values the schema asks for.
type scanner struct {
	data []byte
	pos  int
}

func (sc *scanner) syntax(msg string) error {
	return &PathError{Err: fmt.Errorf("%w: %s at offset %d", ErrSyntax, msg, sc.pos)}
}

func (sc *scanner) ws() {
	for sc.pos < len(sc.data) {
		switch sc.data[sc.pos] {
		case ' ', '\t', '\n', '\r':
			sc.pos++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 at the end.
func (sc *scanner) peek() byte {
	sc.ws()
	if sc.pos < len(sc.data) {
		return sc.data[sc.pos]
	}
	return 0
}

func (sc *scanner) expect(c byte) error {
	got := sc.peek()
	if got == c {
		sc.pos++
		return nil
	}
	if got == 0 {
		return sc.syntax(fmt.Sprintf("unexpected end, want %q", c))
	}
	if c == '{' || c == '[' {
		if isValueStart(got) {
			want := "object"
			if c == '[' {
				want = "array"
			}
			return &PathError{Err: fmt.Errorf("%w: got %s, want %s", ErrType, kind(got), want)}
		}
	}
	return sc.syntax(fmt.Sprintf("unexpected %q, want %q", got, c))
}

// end checks that nothing but white space follows.
func (sc *scanner) end() error {
	sc.ws()
	if sc.pos < len(sc.data) { // peek's 0 would take a NUL byte for the end
		return sc.syntax("trailing data")
	}
	return nil
}

func isValueStart(c byte) bool {
	switch c {
	case '{', '[', '"', 't', 'f', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

// kind names the JSON kind that starts with c, for error messages.
func kind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// wrongKind reports a JSON value of the wrong kind at the current position.
func (sc *scanner) wrongKind(want string) error {
	c := sc.peek()
	if !isValueStart(c) {
		if c == 0 {
			return sc.syntax("unexpected end, want a value")
		}
		return sc.syntax(fmt.Sprintf("unexpected %q", c))
	}
	return &PathError{Err: fmt.Errorf("%w: got %s, want %s", ErrType, kind(c), want)}
}

// objectStart is called after '{': it reports whether a member follows.
func (sc *scanner) objectStart() (bool, error) {
	switch sc.peek() {
	case '}':
		sc.pos++
		return false, nil
	case '"':
		return true, nil
	}
	return false, sc.syntax("want a key or '}'")
}

// objectNext is called after a member: it reports whether another follows.
func (sc *scanner) objectNext() (bool, error) {
	switch sc.peek() {
	case ',':
		sc.pos++
		if sc.peek() != '"' {
			return false, sc.syntax("want a key")
		}
		return true, nil
	case '}':
		sc.pos++
		return false, nil
	}
	return false, sc.syntax("want ',' or '}'")
}

// members reads the object that comes next. It yields each member's name (valid until
// the scanner moves on) with the scanner at the member's value, which the loop must read;
// or a nil name and the error that ends the object. When names is not nil, it collects
// the names, and a name given twice ends the object with a duplicate error.
func (sc *scanner) members(names *keySet) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		if err := sc.expect('{'); err != nil {
			yield(nil, err)
			return
		}
		for more, err := sc.objectStart(); more || err != nil; more, err = sc.objectNext() {
			if err != nil {
				yield(nil, err)
				return
			}
			name, err := sc.keyRaw()
			if err == nil && names != nil && !names.add(name) {
				name, err = nil, duplicate(name)
			}
			if !yield(name, err) || err != nil {
				return
			}
		}
	}
}

// elements reads the array that comes next. It yields each element's index with the
// scanner at the element, which the loop must read; or the error that ends the array.
func (sc *scanner) elements() iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		if err := sc.expect('['); err != nil {
			yield(0, err)
			return
		}
		i := 0
		for more, err := sc.arrayStart(); more || err != nil; more, err = sc.arrayNext() {
			if !yield(i, err) || err != nil {
				return
			}
			i++
		}
	}
}

func (sc *scanner) arrayStart() (bool, error) {
	if sc.peek() == ']' {
		sc.pos++
		return false, nil
	}
	return true, nil
}

func (sc *scanner) arrayNext() (bool, error) {
	switch sc.peek() {
	case ',':
		sc.pos++
		return true, nil
	case ']':
		sc.pos++
		return false, nil
	}
	return false, sc.syntax("want ',' or ']'")
}

// keyRaw reads an object key and the colon after it, returning the raw bytes
// when the key has no escapes (the common case) so callers can compare without
// allocating.
func (sc *scanner) keyRaw() ([]byte, error) {
	raw, err := sc.strBytes()
	if err != nil {
		return nil, err
	}
	if err := sc.expect(':'); err != nil {
		return nil, err
	}
	return raw, nil
}

// strBytes reads a string and returns its contents: in place when it has no escapes
// (the common case), unescaped into a new slice otherwise.
func (sc *scanner) strBytes() ([]byte, error) {
	at := sc.pos
	raw, esc, err := sc.strSpan()
	if err != nil || !esc {
		return raw, err
	}
	s, err := unescape(raw)
	if err != nil {
		sc.pos = at
		return nil, sc.syntax(err.Error())
	}
	return []byte(s), nil
}

// strSpan reads a string at the current position and returns its raw
// contents (between the quotes) and whether they contain escapes.
func (sc *scanner) strSpan() (raw []byte, esc bool, err error) {
	if sc.peek() != '"' {
		return nil, false, sc.wrongKind("string")
	}
	start := sc.pos + 1
	ascii := true
	for i := start; i < len(sc.data); i++ {
		c := sc.data[i]
		switch {
		case c == '"':
			raw = sc.data[start:i]
			if !ascii && !utf8.Valid(raw) {
				return nil, false, sc.syntax("invalid UTF-8 in string")
			}
			sc.pos = i + 1
			return raw, esc, nil
		case c == '\\':
			esc = true
			i++
		case c < 0x20:
			sc.pos = i
			return nil, false, sc.syntax("control character in string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	sc.pos = len(sc.data)
	return nil, false, sc.syntax("unterminated string")
}

func (sc *scanner) str() (string, error) {
	at := sc.pos
	raw, esc, err := sc.strSpan()
	if err != nil {
		return "", err
	}
	if !esc {
		return string(raw), nil
	}
	s, err := unescape(raw)
	if err != nil {
		sc.pos = at
		return "", sc.syntax(err.Error())
	}
	return s, nil
}

// unescape decodes the contents of a JSON string that contains escapes. Lone
// surrogates become U+FFFD, as in encoding/json.
func unescape(raw []byte) (string, error) {
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		i++
		if i >= len(raw) {
			return "", fmt.Errorf("bad escape")
		}
		switch raw[i] {
		case '"', '\\', '/':
			b = append(b, raw[i])
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
			r, ok := hex4(raw[i+1:])
			if !ok {
				return "", fmt.Errorf("bad \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if r2, ok := hex4(raw[i+3:]); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							b = utf8.AppendRune(b, d)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", fmt.Errorf("bad escape \\%c", raw[i])
		}
	}
	return string(b), nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a JSON number and reports whether it is an integer literal
// (no fraction, no exponent).
func (sc *scanner) number() (span []byte, isInt bool, err error) {
	c := sc.peek()
	if c != '-' && (c < '0' || c > '9') {
		return nil, false, sc.wrongKind("number")
	}
	d := sc.data
	start, i := sc.pos, sc.pos
	if d[i] == '-' {
		i++
	}
	var ok bool
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i, _ = digits(d, i)
	default:
		return nil, false, sc.badNumber(i)
	}
	isInt = true
	if i < len(d) && d[i] == '.' {
		isInt = false
		if i, ok = digits(d, i+1); !ok {
			return nil, false, sc.badNumber(i)
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		isInt = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i, ok = digits(d, i); !ok {
			return nil, false, sc.badNumber(i)
		}
	}
	sc.pos = i
	return d[start:i], isInt, nil
}

// digits returns the end of the run of ASCII digits that starts at d[i], and whether
// the run has any.
func digits(d []byte, i int) (end int, ok bool) {
	end = i
	for end < len(d) && d[end] >= '0' && d[end] <= '9' {
		end++
	}
	return end, end > i
}

// badNumber reports a malformed number, at offset at.
func (sc *scanner) badNumber(at int) error {
	sc.pos = at
	return sc.syntax("bad number")
}

// parseInt parses a validated integer literal; ok is false on int64 overflow.
func parseInt(b []byte) (n int64, ok bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) > 19 { // JSON forbids leading zeros, so more digits always overflow
		return 0, false
	}
	var u uint64
	for _, c := range b {
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return int64(-u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// intRange is the range of the integer type t (Int8 to Int64). A switch, not a map:
// a package-level map is built by the package's init, at every cold start.
func intRange(t Type) (lo, hi int64) {
	switch t {
	case Int8:
		return math.MinInt8, math.MaxInt8
	case Int16:
		return math.MinInt16, math.MaxInt16
	case Int32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// intValue reads an integer of type t (Int8 to Int64). A fraction, an exponent
// or a value outside t's range is an error: JsonConverter would truncate.
func (sc *scanner) intValue(t Type) (int64, error) {
	lo, hi := intRange(t)
	return sc.intFast(t, lo, hi)
}

// intFast is intValue for the range lo..hi, without the map lookup.
func (sc *scanner) intFast(t Type, lo, hi int64) (int64, error) {
	span, isInt, err := sc.number()
	if err != nil {
		return 0, err
	}
	if !isInt {
		return 0, &PathError{Err: fmt.Errorf("%w: %s is not an integer, want %s", ErrType, span, t)}
	}
	n, ok := parseInt(span)
	if !ok || n < lo || n > hi {
		return 0, &PathError{Err: fmt.Errorf("%w: %s does not fit %s", ErrRange, span, t)}
	}
	return n, nil
}

func (sc *scanner) floatValue(bits int) (float64, error) {
	span, _, err := sc.number()
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(span), bits)
	if err != nil {
		return 0, &PathError{Err: fmt.Errorf("%w: %s does not fit a %d-bit float", ErrRange, span, bits)}
	}
	if f == 0 {
		// JsonConverter reads numbers as BigDecimal, which has no negative zero: -0.0
		// reads as 0.0, and is written back so.
		f = 0
	}
	return f, nil
}

func (sc *scanner) boolValue() (bool, error) {
	switch sc.peek() {
	case 't':
		return true, sc.literal("true")
	case 'f':
		return false, sc.literal("false")
	}
	return false, sc.wrongKind("boolean")
}

func (sc *scanner) stringValue() (string, error) {
	if sc.peek() != '"' {
		return "", sc.wrongKind("string")
	}
	return sc.str()
}

func (sc *scanner) appendStringValue(dst []byte) ([]byte, error) {
	if sc.peek() != '"' {
		return dst, sc.wrongKind("string")
	}
	raw, err := sc.strBytes() // nil on an error
	return append(dst, raw...), err
}

func (sc *scanner) literal(lit string) error {
	sc.ws()
	if len(sc.data)-sc.pos >= len(lit) && string(sc.data[sc.pos:sc.pos+len(lit)]) == lit {
		sc.pos += len(lit)
		return nil
	}
	return sc.syntax("bad literal")
}

// null consumes a null literal if one is next.
func (sc *scanner) null() (bool, error) {
	if sc.peek() != 'n' {
		return false, nil
	}
	return true, sc.literal("null")
}

// skip reads over one value of any kind, validating it: its syntax, and that no object
// in it has a member name twice.
func (sc *scanner) skip(depth int) error {
	if depth > maxDepth {
		return sc.syntax("nested too deeply")
	}
	switch c := sc.peek(); c {
	case '{':
		return sc.skipObject(depth)
	case '[':
		for _, err := range sc.elements() {
			if err != nil {
				return err
			}
			if err := sc.skip(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case '"':
		_, err := sc.str()
		return err
	case 't':
		return sc.literal("true")
	case 'f':
		return sc.literal("false")
	case 'n':
		return sc.literal("null")
	case 0:
		return sc.syntax("unexpected end, want a value")
	default:
		_, _, err := sc.number()
		return err
	}
}

func (sc *scanner) skipObject(depth int) error {
	var names keySet
	for name, err := range sc.members(&names) {
		if err != nil {
			return err
		}
		if err := sc.skip(depth + 1); err != nil {
			if errors.Is(err, ErrDuplicateKey) { // say where; other errors give an offset
				return at(err, string(name))
			}
			return err
		}
	}
	return nil
}

// ErrDuplicateKey is the ErrSyntax of an object with a member name twice, or a map with
// a key twice: RFC 8259 leaves the meaning open and I-JSON (RFC 7493) forbids it, and
// parsers that keep the first or the last value would read different documents.
var ErrDuplicateKey error = &wrapped{"invalid json: duplicate key", ErrSyntax}

func duplicate(name []byte) error {
	return &PathError{Path: string(name), Err: ErrDuplicateKey}
}

// keySet holds the member names of one object, to find one given twice. Most objects
// have a handful of members, compared in place; larger ones use a map, so a hostile
// document of many members costs linear time.
type keySet struct {
	few [8][]byte
	n   int
	m   map[string]struct{}
}

// add adds name, which must stay unchanged while the set is used, and reports whether it
// was new.
func (ks *keySet) add(name []byte) bool {
	if ks.m != nil {
		if _, ok := ks.m[string(name)]; ok {
			return false
		}
		ks.m[string(name)] = struct{}{}
		return true
	}
	for _, k := range ks.few[:ks.n] {
		if string(k) == string(name) {
			return false
		}
	}
	if ks.n < len(ks.few) {
		ks.few[ks.n] = name
		ks.n++
		return true
	}
	ks.m = make(map[string]struct{}, 2*len(ks.few))
	for _, k := range ks.few {
		ks.m[string(k)] = struct{}{}
	}
	ks.m[string(name)] = struct{}{}
	return true
}
