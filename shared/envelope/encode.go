package envelope

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
)

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
	if lk != plain {
		return appendLogical(dst, s, lk, v)
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	switch s.Type {
	case Int8, Int16, Int32, Int64:
		return appendInt(dst, s.Type, v, rv)
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
		return AppendString(dst, rv.String()), nil
	case Bytes:
		if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() != reflect.Uint8 {
			return nil, fmt.Errorf("%w: %T for bytes", ErrType, v)
		}
		return appendBase64(dst, rv.Bytes()), nil
	case Array:
		return appendArray(dst, s, v, rv, depth)
	case Map:
		return appendMap(dst, s, v, rv, depth)
	case StructType:
		return appendStruct(dst, s, v, depth)
	}
	return nil, fmt.Errorf("%w: unknown type %q", ErrSchema, s.Type)
}

// appendLogical writes v as the payload of a logical type.
func appendLogical(dst []byte, s *Schema, lk logicalKind, v any) ([]byte, error) {
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
	return nil, fmt.Errorf("%w: unknown logical type %q", ErrSchema, s.Name)
}

// appendInt writes an integer of type t, from any Go integer kind that fits.
func appendInt(dst []byte, t Type, v any, rv reflect.Value) ([]byte, error) {
	var n int64
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n = rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return nil, fmt.Errorf("%w: %d does not fit %s", ErrRange, u, t)
		}
		n = int64(u)
	default:
		return nil, fmt.Errorf("%w: %T for %s", ErrType, v, t)
	}
	if lo, hi := intRange(t); n < lo || n > hi {
		return nil, fmt.Errorf("%w: %d does not fit %s", ErrRange, n, t)
	}
	return strconv.AppendInt(dst, n, 10), nil
}

// appendArray writes an array of schema s.
func appendArray(dst []byte, s *Schema, v any, rv reflect.Value, depth int) ([]byte, error) {
	var err error
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
			dst = AppendString(dst, k.String())
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
		dst = AppendString(dst, f.Name)
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
