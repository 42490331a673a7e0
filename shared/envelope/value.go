package envelope

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
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

// Encode writes v as a JsonConverter envelope of schema s. v uses the value
// mapping of Decode; a struct may also be a map[string]any, a map a Go map,
// an array any slice, and integers and floats any Go numeric kind that fits.
// Errors are *PathError.
func Encode(s *Schema, v any) ([]byte, error) {
	if s == nil {
		return nil, &PathError{Path: "schema", Err: fmt.Errorf("%w: nil schema", ErrSchema)}
	}
	dst := make([]byte, 0, 512)
	dst = append(dst, `{"schema":`...)
	dst, err := appendSchema(dst, s, "", false)
	if err != nil {
		return nil, at(err, "schema")
	}
	dst = append(dst, `,"payload":`...)
	if dst, err = appendValue(dst, s, v, 0); err != nil {
		return nil, at(err, "payload")
	}
	return append(dst, '}'), nil
}

// appendValue writes v as the payload of schema s, as convertToJson does.
func appendValue(dst []byte, s *Schema, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested too deeply", ErrRange)
	}
	if isNil(v) {
		switch {
		case s.Default != nil:
			v = s.Default
		case s.Optional:
			return append(dst, "null"...), nil
		default:
			return nil, fmt.Errorf("%w: %s", ErrNull, s.Type)
		}
	}
	lk, err := s.logical()
	if err != nil {
		return nil, err
	}
	switch lk {
	case decimalKind:
		d, ok := v.(Decimal)
		if p, isPtr := v.(*Decimal); isPtr {
			d, ok = *p, true
		}
		if !ok || d.Unscaled == nil {
			return nil, fmt.Errorf("%w: %T for a decimal, want envelope.Decimal", ErrType, v)
		}
		scale, err := s.scale()
		if err != nil {
			return nil, err
		}
		if d.Scale != scale {
			return nil, fmt.Errorf("%w: decimal scale %d, schema scale %d", ErrType, d.Scale, scale)
		}
		return appendBase64(dst, twosComplement(d.Unscaled)), nil
	case dateKind, timeKind, timestampKind:
		t, ok := v.(time.Time)
		if p, isPtr := v.(*time.Time); isPtr {
			t, ok = *p, true
		}
		if !ok {
			return nil, fmt.Errorf("%w: %T for %s, want time.Time", ErrType, v, s.Name)
		}
		return appendTime(dst, lk, t)
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	switch s.Type {
	case Int8, Int16, Int32, Int64:
		var n int64
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			n = rv.Int()
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			u := rv.Uint()
			if u > math.MaxInt64 {
				return nil, fmt.Errorf("%w: %d does not fit %s", ErrRange, u, s.Type)
			}
			n = int64(u)
		default:
			return nil, fmt.Errorf("%w: %T for %s", ErrType, v, s.Type)
		}
		if r := intRange[s.Type]; n < r[0] || n > r[1] {
			return nil, fmt.Errorf("%w: %d does not fit %s", ErrRange, n, s.Type)
		}
		return strconv.AppendInt(dst, n, 10), nil
	case Float32, Float64:
		var f float64
		switch rv.Kind() {
		case reflect.Float32, reflect.Float64:
			f = rv.Float()
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f = float64(rv.Int())
		default:
			return nil, fmt.Errorf("%w: %T for %s", ErrType, v, s.Type)
		}
		return appendFloatChecked(dst, f, s.Type)
	case Boolean:
		if rv.Kind() != reflect.Bool {
			return nil, fmt.Errorf("%w: %T for boolean", ErrType, v)
		}
		return strconv.AppendBool(dst, rv.Bool()), nil
	case String:
		if rv.Kind() != reflect.String {
			return nil, fmt.Errorf("%w: %T for string", ErrType, v)
		}
		return appendString(dst, rv.String()), nil
	case Bytes:
		if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() != reflect.Uint8 {
			return nil, fmt.Errorf("%w: %T for bytes", ErrType, v)
		}
		return appendBase64(dst, rv.Bytes()), nil
	case Array:
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return nil, fmt.Errorf("%w: %T for array", ErrType, v)
		}
		dst = append(dst, '[')
		for i := range rv.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendValue(dst, s.Items, rv.Index(i).Interface(), depth+1); err != nil {
				return nil, at(err, "["+strconv.Itoa(i)+"]")
			}
		}
		return append(dst, ']'), nil
	case Map:
		return appendMap(dst, s, v, rv, depth)
	case StructType:
		return appendStruct(dst, s, v, depth)
	}
	return nil, fmt.Errorf("%w: unknown type %q", ErrSchema, s.Type)
}

func appendFloatChecked(dst []byte, f float64, t Type) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: %v is not a finite number", ErrRange, f)
	}
	if t == Float32 {
		if math.Abs(f) > math.MaxFloat32 {
			return nil, fmt.Errorf("%w: %v does not fit float", ErrRange, f)
		}
		return appendFloat(dst, float64(float32(f)), 32), nil
	}
	return appendFloat(dst, f, 64), nil
}

// appendTime writes t as a Date (days since the epoch; t must be midnight UTC,
// as Connect requires), a Time (milliseconds since midnight UTC of t's day) or
// a Timestamp (milliseconds since the epoch).
func appendTime(dst []byte, lk logicalKind, t time.Time) ([]byte, error) {
	switch lk {
	case dateKind:
		u := t.UTC()
		if u.Hour() != 0 || u.Minute() != 0 || u.Second() != 0 || u.Nanosecond() != 0 {
			return nil, fmt.Errorf("%w: date %s has a time of day", ErrRange, t.Format(time.RFC3339Nano))
		}
		days := u.Unix() / 86400
		if u.Unix() < 0 && u.Unix()%86400 != 0 {
			days--
		}
		if days < math.MinInt32 || days > math.MaxInt32 {
			return nil, fmt.Errorf("%w: date %s does not fit int32 days", ErrRange, t.Format(time.RFC3339))
		}
		return strconv.AppendInt(dst, days, 10), nil
	case timeKind:
		u := t.UTC()
		ms := int64(u.Hour())*3_600_000 + int64(u.Minute())*60_000 + int64(u.Second())*1000 + int64(u.Nanosecond())/1e6
		return strconv.AppendInt(dst, ms, 10), nil
	default:
		return strconv.AppendInt(dst, t.UnixMilli(), 10), nil
	}
}

func appendMap(dst []byte, s *Schema, v any, rv reflect.Value, depth int) ([]byte, error) {
	var entries []MapEntry
	switch m := v.(type) {
	case []MapEntry:
		entries = m
	default:
		if rv.Kind() != reflect.Map {
			return nil, fmt.Errorf("%w: %T for map", ErrType, v)
		}
		entries = make([]MapEntry, 0, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			entries = append(entries, MapEntry{Key: it.Key().Interface(), Value: it.Value().Interface()})
		}
		slices.SortFunc(entries, func(a, b MapEntry) int { return compareKeys(a.Key, b.Key) })
	}
	var err error
	if s.Keys.Type == String {
		dst = append(dst, '{')
		for i, e := range entries {
			if i > 0 {
				dst = append(dst, ',')
			}
			k := reflect.ValueOf(e.Key)
			if k.Kind() != reflect.String {
				return nil, at(fmt.Errorf("%w: %T map key, want string", ErrType, e.Key), "["+strconv.Itoa(i)+"]")
			}
			dst = appendString(dst, k.String())
			dst = append(dst, ':')
			if dst, err = appendValue(dst, s.Values, e.Value, depth+1); err != nil {
				return nil, at(err, k.String())
			}
		}
		return append(dst, '}'), nil
	}
	dst = append(dst, '[')
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		seg := "[" + strconv.Itoa(i) + "]"
		dst = append(dst, '[')
		if dst, err = appendValue(dst, s.Keys, e.Key, depth+1); err != nil {
			return nil, at(at(err, "[0]"), seg)
		}
		dst = append(dst, ',')
		if dst, err = appendValue(dst, s.Values, e.Value, depth+1); err != nil {
			return nil, at(at(err, "[1]"), seg)
		}
		dst = append(dst, ']')
	}
	return append(dst, ']'), nil
}

// compareKeys orders Go map keys so that encoding a map is deterministic.
func compareKeys(a, b any) int {
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	switch ra.Kind() {
	case reflect.String:
		return cmp.Compare(ra.String(), rb.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cmp.Compare(ra.Int(), rb.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cmp.Compare(ra.Uint(), rb.Uint())
	case reflect.Float32, reflect.Float64:
		return cmp.Compare(ra.Float(), rb.Float())
	}
	return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func appendStruct(dst []byte, s *Schema, v any, depth int) ([]byte, error) {
	var get func(i int, name string) any
	if st, ok := v.(Struct); ok {
		v = &st
	}
	switch st := v.(type) {
	case *Struct:
		if st.schema == nil {
			return nil, fmt.Errorf("%w: envelope.Struct without a schema (use NewStruct)", ErrType)
		}
		if st.schema == s {
			get = func(i int, _ string) any { return st.values[i] }
			break
		}
		// A struct of another schema object: match fields by name.
		for _, f := range st.schema.Fields {
			if _, _, ok := s.Field(f.Name); !ok {
				return nil, &PathError{Path: f.Name, Err: ErrUnknown}
			}
		}
		get = func(_ int, name string) any {
			v, _ := st.Get(name)
			return v
		}
	case map[string]any:
		for k := range st {
			if _, _, ok := s.Field(k); !ok {
				return nil, &PathError{Path: k, Err: ErrUnknown}
			}
		}
		get = func(_ int, name string) any { return st[name] }
	default:
		return nil, fmt.Errorf("%w: %T for struct, want *envelope.Struct or map[string]any", ErrType, v)
	}
	dst = append(dst, '{')
	var err error
	for i, f := range s.Fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, f.Name)
		dst = append(dst, ':')
		if dst, err = appendValue(dst, f.Schema, get(i, f.Name), depth+1); err != nil {
			return nil, at(err, f.Name)
		}
	}
	return append(dst, '}'), nil
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

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

// Decode reads a JsonConverter envelope written by any producer and returns
// its schema and its payload in this mapping: int8..int64 → int8..int64,
// float → float32, double → float64, boolean → bool, string → string,
// bytes → []byte, Decimal → Decimal, Date/Time/Timestamp → time.Time (UTC),
// array → []any, map → []MapEntry, struct → *Struct, and null → nil (or the
// schema default). A nil or empty record (a tombstone) returns nil, nil, nil.
// Like JsonConverter, Decode caches parsed schemas by their bytes, so records
// of one topic share one *Schema: treat it, and its defaults, as read-only.
//
// Decode is strict where JsonConverter coerces: a value of the wrong JSON
// kind, a fractional or out-of-range integer, a payload key that the schema
// does not have, a duplicate key or invalid UTF-8 are errors, not zero values
// or truncations. Errors are *PathError.
func Decode(data []byte) (*Schema, any, error) {
	if len(data) == 0 {
		return nil, nil, nil
	}
	sc := scanner{data: data}
	if err := sc.open(); err != nil {
		return nil, nil, err
	}
	var (
		schema  *Schema
		payload any
		seen    [3]bool
		pending = -1 // start of a payload that came before the schema
	)
	for {
		m, err := sc.member(&seen)
		if err != nil {
			return nil, nil, err
		}
		switch m {
		case memberSchema:
			if schema, err = sc.cachedSchema(); err == nil && schema == nil {
				err = &PathError{Err: fmt.Errorf("%w: null schema (schemaless payloads are not supported)", ErrSchema)}
			}
		case memberPayload:
			if schema == nil {
				pending = sc.pos
				err = sc.skip(1)
			} else {
				payload, err = sc.value(schema, 1)
			}
		}
		if err != nil {
			return nil, nil, at(err, memberNames[m])
		}
		if m == memberEnd {
			break
		}
	}
	if !seen[memberSchema] || !seen[memberPayload] {
		return nil, nil, errIncomplete()
	}
	if pending >= 0 {
		psc := scanner{data: data, pos: pending}
		var err error
		if payload, err = psc.value(schema, 1); err != nil {
			return nil, nil, at(err, "payload")
		}
	}
	return schema, payload, nil
}

func errIncomplete() error {
	return &PathError{Err: fmt.Errorf(`%w: want exactly "schema" and "payload"`, ErrEnvelope)}
}

// The members of an envelope, as returned by member.
const (
	memberEnd = iota
	memberSchema
	memberPayload
)

var memberNames = [...]string{memberSchema: "schema", memberPayload: "payload"}

// open reads the '{' that starts an envelope.
func (sc *scanner) open() error {
	if c := sc.peek(); c != '{' {
		if isValueStart(c) {
			return &PathError{Err: fmt.Errorf(`%w: got %s, want an object with "schema" and "payload"`, ErrEnvelope, kind(c))}
		}
		return sc.syntax("want '{'")
	}
	sc.pos++
	return nil
}

// member reads the next key of an envelope and leaves the scanner at its
// value, which the caller must consume. It returns memberEnd after the closing
// brace, when nothing but white space may follow. Any key other than
// "schema" and "payload", or either one twice, is an error.
func (sc *scanner) member(seen *[3]bool) (int, error) {
	var more bool
	var err error
	if seen[memberSchema] || seen[memberPayload] {
		more, err = sc.objectNext()
	} else {
		more, err = sc.objectStart()
	}
	if err != nil {
		return 0, err
	}
	if !more {
		return memberEnd, sc.end()
	}
	key, err := sc.keyRaw()
	if err != nil {
		return 0, err
	}
	var m int
	switch string(key) {
	case "schema":
		m = memberSchema
	case "payload":
		m = memberPayload
	default:
		return 0, &PathError{Path: string(key), Err: fmt.Errorf(`%w: unexpected key next to "schema" and "payload"`, ErrEnvelope)}
	}
	if seen[m] {
		return 0, &PathError{Path: memberNames[m], Err: fmt.Errorf("%w: duplicate key", ErrEnvelope)}
	}
	seen[m] = true
	return m, nil
}

// value decodes one payload value of schema s in the generic mapping.
func (sc *scanner) value(s *Schema, depth int) (any, error) {
	if depth > maxDepth {
		return nil, sc.syntax("nested too deeply")
	}
	if null, err := sc.null(); err != nil || null {
		if err != nil {
			return nil, err
		}
		switch {
		case s.Default != nil:
			return s.Default, nil
		case s.Optional:
			return nil, nil
		}
		return nil, &PathError{Err: fmt.Errorf("%w: %s", ErrNull, s.Type)}
	}
	lk, err := s.logical()
	if err != nil {
		return nil, &PathError{Err: err}
	}
	switch s.Type {
	case Int8:
		n, err := sc.intFast(Int8, math.MinInt8, math.MaxInt8)
		return int8(n), err
	case Int16:
		n, err := sc.intFast(Int16, math.MinInt16, math.MaxInt16)
		return int16(n), err
	case Int32:
		n, err := sc.intFast(Int32, math.MinInt32, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		switch lk {
		case dateKind:
			return time.Unix(n*86400, 0).UTC(), nil
		case timeKind:
			if n < 0 || n >= 86_400_000 {
				return nil, &PathError{Err: fmt.Errorf("%w: time %d is not within a day", ErrRange, n)}
			}
			return time.UnixMilli(n).UTC(), nil
		}
		return int32(n), nil
	case Int64:
		n, err := sc.intFast(Int64, math.MinInt64, math.MaxInt64)
		if err != nil {
			return nil, err
		}
		if lk == timestampKind {
			return time.UnixMilli(n).UTC(), nil
		}
		return n, nil
	case Float32:
		f, err := sc.floatValue(32)
		return float32(f), err
	case Float64:
		return sc.floatValue(64)
	case Boolean:
		return sc.boolValue()
	case String:
		return sc.stringValue()
	case Bytes:
		if lk == decimalKind {
			return sc.decimal(s)
		}
		return sc.bytesValue()
	case Array:
		if err := sc.expect('['); err != nil {
			return nil, err
		}
		items := []any{}
		for more, err := sc.arrayStart(); more || err != nil; more, err = sc.arrayNext() {
			if err != nil {
				return nil, err
			}
			v, err := sc.value(s.Items, depth+1)
			if err != nil {
				return nil, at(err, "["+strconv.Itoa(len(items))+"]")
			}
			items = append(items, v)
		}
		return items, nil
	case Map:
		return sc.mapValue(s, depth)
	case StructType:
		return sc.structValue(s, depth)
	}
	return nil, &PathError{Err: fmt.Errorf("%w: unknown type %q", ErrSchema, s.Type)}
}

func (sc *scanner) bytesValue() ([]byte, error) {
	raw, esc, err := sc.strSpan()
	if err != nil {
		return nil, err
	}
	if esc {
		s, err := unescape(raw)
		if err != nil {
			return nil, sc.syntax(err.Error())
		}
		raw = []byte(s)
	}
	b, err := base64.StdEncoding.AppendDecode(make([]byte, 0, base64.StdEncoding.DecodedLen(len(raw))), raw)
	if err != nil {
		return nil, &PathError{Err: fmt.Errorf("%w: bad base64: %w", ErrType, err)}
	}
	return b, nil
}

// decimal reads a Decimal: base64 of the unscaled two's-complement bytes, or
// (as JsonConverter also reads it) a JSON number, which must be exact at the
// schema's scale.
func (sc *scanner) decimal(s *Schema) (Decimal, error) {
	scale, err := s.scale()
	if err != nil {
		return Decimal{}, &PathError{Err: err}
	}
	if c := sc.peek(); c == '-' || (c >= '0' && c <= '9') {
		span, _, err := sc.number()
		if err != nil {
			return Decimal{}, err
		}
		n, ok := scaleNumber(span, scale)
		if !ok {
			return Decimal{}, &PathError{Err: fmt.Errorf("%w: %s is not exact at scale %d", ErrRange, span, scale)}
		}
		return Decimal{Unscaled: n, Scale: scale}, nil
	}
	b, err := sc.bytesValue()
	if err != nil {
		return Decimal{}, err
	}
	if len(b) == 0 {
		return Decimal{}, &PathError{Err: fmt.Errorf("%w: empty decimal", ErrType)}
	}
	return Decimal{Unscaled: fromTwosComplement(b), Scale: scale}, nil
}

// scaleNumber returns the JSON number span × 10^scale if that is an integer.
func scaleNumber(span []byte, scale int32) (*big.Int, bool) {
	mant, exp := span, 0
	if i := slices.IndexFunc(span, func(c byte) bool { return c == 'e' || c == 'E' }); i >= 0 {
		e, err := strconv.Atoi(string(span[i+1:]))
		if err != nil {
			return nil, false
		}
		mant, exp = span[:i], e
	}
	// value = digits × 10^(exp - number of fraction digits)
	digits := make([]byte, 0, len(mant))
	for _, c := range mant {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	if i := slices.Index(mant, '.'); i >= 0 {
		exp -= len(mant) - i - 1
	}
	shift := exp + int(scale)
	if shift > 1000 || shift < -1000 {
		return nil, false
	}
	n, ok := new(big.Int).SetString(string(digits), 10)
	if !ok {
		return nil, false
	}
	if shift >= 0 {
		return n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(shift)), nil)), true
	}
	q, r := new(big.Int).QuoRem(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-shift)), nil), new(big.Int))
	if r.Sign() != 0 {
		return nil, false
	}
	return q, true
}

func (sc *scanner) mapValue(s *Schema, depth int) ([]MapEntry, error) {
	entries := []MapEntry{}
	if s.Keys.Type == String {
		if err := sc.expect('{'); err != nil {
			return nil, err
		}
		for more, err := sc.objectStart(); more || err != nil; more, err = sc.objectNext() {
			if err != nil {
				return nil, err
			}
			k, err := sc.key()
			if err != nil {
				return nil, err
			}
			v, err := sc.value(s.Values, depth+1)
			if err != nil {
				return nil, at(err, k)
			}
			entries = append(entries, MapEntry{Key: k, Value: v})
		}
		return entries, nil
	}
	if err := sc.expect('['); err != nil {
		return nil, err
	}
	for more, err := sc.arrayStart(); more || err != nil; more, err = sc.arrayNext() {
		if err != nil {
			return nil, err
		}
		seg := "[" + strconv.Itoa(len(entries)) + "]"
		if err := sc.expect('['); err != nil {
			return nil, at(err, seg)
		}
		k, err := sc.value(s.Keys, depth+1)
		if err != nil {
			return nil, at(at(err, "[0]"), seg)
		}
		if err := sc.expect(','); err != nil {
			return nil, at(at(&PathError{Err: fmt.Errorf("%w: map entry must be a [key, value] pair", ErrType)}, "[1]"), seg)
		}
		v, err := sc.value(s.Values, depth+1)
		if err != nil {
			return nil, at(at(err, "[1]"), seg)
		}
		if err := sc.expect(']'); err != nil {
			return nil, at(&PathError{Err: fmt.Errorf("%w: map entry must be a [key, value] pair", ErrType)}, seg)
		}
		entries = append(entries, MapEntry{Key: k, Value: v})
	}
	return entries, nil
}

func (sc *scanner) structValue(s *Schema, depth int) (*Struct, error) {
	if err := sc.expect('{'); err != nil {
		return nil, err
	}
	st := NewStruct(s)
	seen := make([]bool, len(s.Fields))
	for more, err := sc.objectStart(); more || err != nil; more, err = sc.objectNext() {
		if err != nil {
			return nil, err
		}
		k, err := sc.keyRaw()
		if err != nil {
			return nil, err
		}
		i := -1
		for j := range s.Fields {
			if string(k) == s.Fields[j].Name {
				i = j
				break
			}
		}
		if i < 0 {
			return nil, &PathError{Path: string(k), Err: ErrUnknown}
		}
		name := s.Fields[i].Name
		if seen[i] {
			return nil, at(sc.syntax("duplicate key"), name)
		}
		seen[i] = true
		if st.values[i], err = sc.value(s.Fields[i].Schema, depth+1); err != nil {
			return nil, at(err, name)
		}
	}
	for i, f := range s.Fields {
		if seen[i] {
			continue
		}
		switch {
		case f.Schema.Default != nil:
			st.values[i] = f.Schema.Default
		case !f.Schema.Optional:
			return nil, &PathError{Path: f.Name, Err: ErrMissing}
		}
	}
	return st, nil
}

// schemaCache maps the bytes of a schema to its parsed form, as JsonConverter's
// schemas.cache does; it is emptied when it reaches schemaCacheSize entries.
var schemaCache = struct {
	sync.RWMutex
	m map[string]*Schema
}{m: map[string]*Schema{}}

const schemaCacheSize = 1000

// cachedSchema reads the schema at the current position, parsing it only when
// its bytes have not been seen before.
func (sc *scanner) cachedSchema() (*Schema, error) {
	sc.ws()
	start := sc.pos
	if err := sc.skip(1); err != nil {
		return nil, err
	}
	raw := sc.data[start:sc.pos]
	schemaCache.RLock()
	s, ok := schemaCache.m[string(raw)]
	schemaCache.RUnlock()
	if ok {
		return s, nil
	}
	psc := scanner{data: sc.data[:sc.pos], pos: start}
	s, err := psc.schema(1)
	if err != nil || s == nil {
		return s, err
	}
	schemaCache.Lock()
	if len(schemaCache.m) >= schemaCacheSize {
		clear(schemaCache.m)
	}
	schemaCache.m[string(raw)] = s
	schemaCache.Unlock()
	return s, nil
}
