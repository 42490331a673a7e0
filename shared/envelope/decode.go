package envelope

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

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
		return sc.int32Value(lk)
	case Int64:
		return sc.int64Value(lk)
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
		return sc.arrayValue(s, depth)
	case Map:
		return sc.mapValue(s, depth)
	case StructType:
		return sc.structValue(s, depth)
	}
	return nil, &PathError{Err: fmt.Errorf("%w: unknown type %q", ErrSchema, s.Type)}
}

// int32Value reads an int32 payload, or the Date or Time it stands for.
func (sc *scanner) int32Value(lk logicalKind) (any, error) {
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
}

// int64Value reads an int64 payload, or the Timestamp it stands for.
func (sc *scanner) int64Value(lk logicalKind) (any, error) {
	n, err := sc.intFast(Int64, math.MinInt64, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	if lk == timestampKind {
		return time.UnixMilli(n).UTC(), nil
	}
	return n, nil
}

// arrayValue reads an array payload of schema s.
func (sc *scanner) arrayValue(s *Schema, depth int) ([]any, error) {
	items := []any{}
	for i, err := range sc.elements() {
		if err != nil {
			return nil, err
		}
		v, err := sc.value(s.Items, depth+1)
		if err != nil {
			return nil, at(err, "["+strconv.Itoa(i)+"]")
		}
		items = append(items, v)
	}
	return items, nil
}

func (sc *scanner) bytesValue() ([]byte, error) {
	raw, err := sc.strBytes()
	if err != nil {
		return nil, err
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
	if s.Keys.Type == String {
		return sc.stringMap(s, depth)
	}
	entries := []MapEntry{}
	var keys keySet // each key as written by Encode, so 1 and 1.0 are one float key
	for i, err := range sc.elements() {
		if err != nil {
			return nil, err
		}
		seg := "[" + strconv.Itoa(i) + "]"
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
		if kb, err := appendValue(nil, s.Keys, k, depth+1); err != nil || !keys.add(kb) {
			return nil, &PathError{Path: seg + "[0]", Err: ErrDuplicateKey}
		}
		entries = append(entries, MapEntry{Key: k, Value: v})
	}
	return entries, nil
}

// stringMap decodes a map with string keys, a JSON object.
func (sc *scanner) stringMap(s *Schema, depth int) ([]MapEntry, error) {
	entries := []MapEntry{}
	var keys keySet
	for raw, err := range sc.members(&keys) {
		if err != nil {
			return nil, err
		}
		k := string(raw)
		v, err := sc.value(s.Values, depth+1)
		if err != nil {
			return nil, at(err, k)
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
			return nil, duplicate(k)
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
// schemas.cache does; it is emptied when it reaches schemaCacheSize entries. Its map is
// made on first use, so that package init builds nothing.
var schemaCache struct {
	sync.RWMutex
	m map[string]*Schema
}

// The cache holds at most schemaCacheSize schemas of at most
// schemaCacheMaxBytes each, so it stays under 16 MiB whatever the input.
const (
	schemaCacheSize     = 1000
	schemaCacheMaxBytes = 16 << 10
)

// lastSchema is the schema cachedSchema returned last, with its bytes. The records
// of one topic carry the same schema bytes one after another, and a JSON object ends
// where its bytes end, so a record that starts with these bytes has this schema:
// comparing them is much cheaper than scanning them to find the cache key.
var lastSchema atomic.Pointer[rawSchema]

type rawSchema struct {
	raw    []byte
	schema *Schema
}

// cachedSchema reads the schema at the current position, parsing it only when
// its bytes have not been seen before.
func (sc *scanner) cachedSchema() (*Schema, error) {
	sc.ws()
	start := sc.pos
	last := lastSchema.Load()
	if last != nil && bytes.HasPrefix(sc.data[start:], last.raw) {
		sc.pos += len(last.raw)
		return last.schema, nil
	}
	if err := sc.skip(1); err != nil {
		return nil, err
	}
	raw := sc.data[start:sc.pos]
	schemaCache.RLock()
	s, ok := schemaCache.m[string(raw)]
	schemaCache.RUnlock()
	if !ok {
		psc := scanner{data: sc.data[:sc.pos], pos: start}
		var err error
		if s, err = psc.schema(1); err != nil || s == nil || len(raw) > schemaCacheMaxBytes {
			return s, err
		}
		schemaCache.Lock()
		if schemaCache.m == nil {
			schemaCache.m = make(map[string]*Schema)
		} else if len(schemaCache.m) >= schemaCacheSize {
			clear(schemaCache.m)
		}
		schemaCache.m[string(raw)] = s
		schemaCache.Unlock()
	}
	lastSchema.Store(&rawSchema{raw: bytes.Clone(raw), schema: s})
	return s, nil
}
