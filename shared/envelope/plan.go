package envelope

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// plan is the compiled form of one Go type: its schema and the functions that
// write and read it through a pointer to a value of that type.
type plan struct {
	schema   *Schema
	enc      func(dst []byte, p unsafe.Pointer) ([]byte, error)
	dec      func(sc *scanner, p unsafe.Pointer) error
	optional bool                        // null is allowed
	isNull   func(p unsafe.Pointer) bool // the value is written as null
	setNull  func(p unsafe.Pointer)      // what null reads as
}

// decode reads one value of the plan's type, handling null.
func (pl *plan) decode(sc *scanner, p unsafe.Pointer) error {
	if sc.peek() == 'n' {
		if err := sc.literal("null"); err != nil {
			return err
		}
		if !pl.optional {
			return &PathError{Err: fmt.Errorf("%w: %s", ErrNull, pl.schema.Type)}
		}
		pl.setNull(p)
		return nil
	}
	return pl.dec(sc, p)
}

// encode writes one value of the plan's type, handling null.
func (pl *plan) encode(dst []byte, p unsafe.Pointer) ([]byte, error) {
	if pl.isNull != nil && pl.isNull(p) {
		return append(dst, "null"...), nil
	}
	return pl.enc(dst, p)
}

type tagOptions struct {
	optional bool
	logical  string // timestamp, date, time or decimal
	scale    int32
}

func parseTag(f reflect.StructField) (name string, opts tagOptions, skip bool, err error) {
	tag, ok := f.Tag.Lookup("connect")
	if tag == "-" {
		return "", opts, true, nil
	}
	parts := strings.Split(tag, ",")
	name = parts[0]
	if !ok || name == "" {
		name = f.Name
	}
	for _, o := range parts[1:] {
		switch {
		case o == "optional":
			opts.optional = true
		case o == "timestamp" || o == "date" || o == "time":
			opts.logical = o
		case strings.HasPrefix(o, "decimal="):
			n, err := strconv.ParseInt(strings.TrimPrefix(o, "decimal="), 10, 32)
			if err != nil {
				return "", opts, false, fmt.Errorf("%w: field %s: bad decimal scale in %q", ErrSchema, f.Name, o)
			}
			opts.logical, opts.scale = "decimal", int32(n)
		default:
			return "", opts, false, fmt.Errorf("%w: field %s: unknown tag option %q", ErrSchema, f.Name, o)
		}
	}
	return name, opts, false, nil
}

type fieldPlan struct {
	name   string
	key    []byte // `"name":`, preceded by a comma after the first field
	offset uintptr
	*plan
}

func buildStruct(t reflect.Type, visiting map[reflect.Type]bool) (*plan, error) {
	if visiting[t] {
		return nil, fmt.Errorf("%w: recursive type %s", ErrSchema, t)
	}
	visiting[t] = true
	defer delete(visiting, t)
	s := &Schema{Type: StructType, Fields: []Field{}}
	var fields []fieldPlan
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, skip, err := parseTag(sf)
		if err != nil {
			return nil, err
		}
		if skip {
			continue
		}
		if _, _, dup := s.Field(name); dup {
			return nil, fmt.Errorf("%w: two fields named %q", ErrSchema, name)
		}
		fp, err := build(sf.Type, opts, visiting)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", sf.Name, err)
		}
		var key []byte
		if len(fields) > 0 {
			key = append(key, ',')
		}
		key = append(AppendString(key, name), ':')
		fields = append(fields, fieldPlan{name: name, key: key, offset: sf.Offset, plan: fp})
		s.Fields = append(s.Fields, Field{Name: name, Schema: fp.schema})
	}
	return &plan{
		schema: s,
		enc: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
			dst = append(dst, '{')
			var err error
			for i := range fields {
				f := &fields[i]
				dst = append(dst, f.key...)
				if dst, err = f.encode(dst, unsafe.Add(p, f.offset)); err != nil {
					return nil, at(err, f.name)
				}
			}
			return append(dst, '}'), nil
		},
		dec: func(sc *scanner, p unsafe.Pointer) error {
			return decodeStruct(sc, p, fields)
		},
		setNull: func(p unsafe.Pointer) { reflect.NewAt(t, p).Elem().SetZero() },
	}, nil
}

func decodeStruct(sc *scanner, p unsafe.Pointer, fields []fieldPlan) error {
	if err := sc.expect('{'); err != nil {
		return err
	}
	var seenBuf [64]bool
	seen := seenBuf[:0]
	if len(fields) <= len(seenBuf) {
		seen = seenBuf[:len(fields)]
	} else {
		seen = make([]bool, len(fields))
	}
	next := 0 // fields usually arrive in schema order
	for more, err := sc.objectStart(); more || err != nil; more, err = sc.objectNext() {
		if err != nil {
			return err
		}
		key, err := sc.keyRaw()
		if err != nil {
			return err
		}
		i := -1
		if next < len(fields) && string(key) == fields[next].name {
			i = next
		} else {
			for j := range fields {
				if string(key) == fields[j].name {
					i = j
					break
				}
			}
			if i < 0 {
				return &PathError{Path: string(key), Err: ErrUnknown}
			}
		}
		if seen[i] {
			return at(sc.syntax("duplicate key"), fields[i].name)
		}
		seen[i] = true
		next = i + 1
		f := &fields[i]
		if err := f.decode(sc, unsafe.Add(p, f.offset)); err != nil {
			return at(err, f.name)
		}
	}
	for i := range fields {
		if seen[i] {
			continue
		}
		f := &fields[i]
		if !f.optional {
			return &PathError{Path: f.name, Err: ErrMissing}
		}
		f.setNull(unsafe.Add(p, f.offset))
	}
	return nil
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	decimalType = reflect.TypeFor[Decimal]()
)

// build compiles the plan of type t under tag options opts.
func build(t reflect.Type, opts tagOptions, visiting map[reflect.Type]bool) (*plan, error) {
	if t.Kind() == reflect.Pointer {
		if t.Elem().Kind() == reflect.Pointer {
			return nil, fmt.Errorf("%w: pointer to pointer %s", ErrSchema, t)
		}
		return buildPointer(t, opts, visiting)
	}
	pl, err := buildValue(t, opts, visiting)
	if err != nil {
		return nil, err
	}
	if opts.optional {
		pl.schema.Optional = true
		pl.optional = true
		pl.isNull = func(p unsafe.Pointer) bool { return reflect.NewAt(t, p).Elem().IsZero() }
		if t.Kind() == reflect.String {
			pl.isNull = func(p unsafe.Pointer) bool { return *(*string)(p) == "" }
		}
	}
	if pl.setNull == nil {
		pl.setNull = func(p unsafe.Pointer) { reflect.NewAt(t, p).Elem().SetZero() }
	}
	return pl, nil
}

func buildPointer(t reflect.Type, opts tagOptions, visiting map[reflect.Type]bool) (*plan, error) {
	opts.optional = false
	elem, err := buildValue(t.Elem(), opts, visiting)
	if err != nil {
		return nil, err
	}
	s := *elem.schema
	s.Optional = true
	et := t.Elem()
	return &plan{
		schema:   &s,
		optional: true,
		isNull:   func(p unsafe.Pointer) bool { return *(*unsafe.Pointer)(p) == nil },
		setNull:  func(p unsafe.Pointer) { *(*unsafe.Pointer)(p) = nil },
		enc: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
			return elem.enc(dst, *(*unsafe.Pointer)(p))
		},
		dec: func(sc *scanner, p unsafe.Pointer) error {
			v := reflect.New(et).UnsafePointer()
			if err := elem.dec(sc, v); err != nil {
				return err
			}
			*(*unsafe.Pointer)(p) = v
			return nil
		},
	}, nil
}

func buildValue(t reflect.Type, opts tagOptions, visiting map[reflect.Type]bool) (*plan, error) {
	switch t {
	case timeType:
		return buildTime(opts)
	case decimalType:
		if opts.logical != "decimal" {
			return nil, fmt.Errorf("%w: envelope.Decimal needs a decimal=SCALE tag option", ErrSchema)
		}
		return buildDecimal(opts.scale), nil
	}
	if opts.logical != "" {
		return nil, fmt.Errorf("%w: option %s does not apply to %s", ErrSchema, opts.logical, t)
	}
	if pl := scalarPlan(t.Kind()); pl != nil {
		return pl, nil
	}
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return bytesPlan(t), nil
		}
		return buildSlice(t, visiting)
	case reflect.Map:
		return buildMap(t, visiting)
	case reflect.Struct:
		return buildStruct(t, visiting)
	}
	return nil, fmt.Errorf("%w: unsupported Go type %s", ErrSchema, t)
}

// scalarPlan returns the plan of a boolean, integer, float or string kind, or nil.
func scalarPlan(kind reflect.Kind) *plan {
	switch kind {
	case reflect.Bool:
		return &plan{
			schema: &Schema{Type: Boolean},
			enc: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
				return strconv.AppendBool(dst, *(*bool)(p)), nil
			},
			dec: func(sc *scanner, p unsafe.Pointer) error {
				b, err := sc.boolValue()
				*(*bool)(p) = b
				return err
			},
		}
	case reflect.Int8:
		return intPlan[int8](Int8, math.MinInt8, math.MaxInt8)
	case reflect.Int16:
		return intPlan[int16](Int16, math.MinInt16, math.MaxInt16)
	case reflect.Int32:
		return intPlan[int32](Int32, math.MinInt32, math.MaxInt32)
	case reflect.Int64:
		return intPlan[int64](Int64, math.MinInt64, math.MaxInt64)
	case reflect.Int:
		return intPlan[int](Int64, math.MinInt, math.MaxInt)
	case reflect.Float32:
		return floatPlan[float32](Float32, 32)
	case reflect.Float64:
		return floatPlan[float64](Float64, 64)
	case reflect.String:
		return &plan{
			schema: &Schema{Type: String},
			enc: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
				return AppendString(dst, *(*string)(p)), nil
			},
			dec: func(sc *scanner, p unsafe.Pointer) error {
				s, err := sc.stringValue()
				*(*string)(p) = s
				return err
			},
		}
	}
	return nil
}

// bytesPlan returns the plan of a byte slice type t.
func bytesPlan(t reflect.Type) *plan {
	return &plan{
		schema: &Schema{Type: Bytes},
		enc: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
			return appendBase64(dst, reflect.NewAt(t, p).Elem().Bytes()), nil
		},
		dec: func(sc *scanner, p unsafe.Pointer) error {
			b, err := sc.bytesValue()
			if err != nil {
				return err
			}
			reflect.NewAt(t, p).Elem().SetBytes(b)
			return nil
		},
	}
}

// intPlan returns the plan of an integer kind I, written as typ and read within lo..hi.
func intPlan[I int8 | int16 | int32 | int64 | int](typ Type, lo, hi int64) *plan {
	return &plan{
		schema: &Schema{Type: typ},
		enc: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
			return strconv.AppendInt(dst, int64(*(*I)(p)), 10), nil
		},
		dec: func(sc *scanner, p unsafe.Pointer) error {
			n, err := sc.intFast(typ, lo, hi)
			if err != nil {
				return err
			}
			*(*I)(p) = I(n)
			return nil
		},
	}
}

// floatPlan returns the plan of a float kind F, written as typ and read with the
// given precision in bits.
func floatPlan[F float32 | float64](typ Type, bits int) *plan {
	return &plan{
		schema: &Schema{Type: typ},
		enc: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
			return appendFloatChecked(dst, float64(*(*F)(p)), typ)
		},
		dec: func(sc *scanner, p unsafe.Pointer) error {
			f, err := sc.floatValue(bits)
			*(*F)(p) = F(f)
			return err
		},
	}
}

func buildTime(opts tagOptions) (*plan, error) {
	var s *Schema
	var lk logicalKind
	switch opts.logical {
	case "timestamp":
		s, lk = Timestamp(false), timestampKind
	case "date":
		s, lk = Date(false), dateKind
	case "time":
		s, lk = Time(false), timeKind
	default:
		return nil, fmt.Errorf("%w: time.Time needs a timestamp, date or time tag option", ErrSchema)
	}
	return &plan{
		schema: s,
		enc: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
			return appendTime(dst, lk, *(*time.Time)(p))
		},
		dec: func(sc *scanner, p unsafe.Pointer) error {
			if lk == timestampKind {
				n, err := sc.intFast(Int64, math.MinInt64, math.MaxInt64)
				if err != nil {
					return err
				}
				*(*time.Time)(p) = time.UnixMilli(n).UTC()
				return nil
			}
			n, err := sc.intFast(Int32, math.MinInt32, math.MaxInt32)
			if err != nil {
				return err
			}
			if lk == dateKind {
				*(*time.Time)(p) = time.Unix(n*86400, 0).UTC()
				return nil
			}
			if n < 0 || n >= 86_400_000 {
				return &PathError{Err: fmt.Errorf("%w: time %d is not within a day", ErrRange, n)}
			}
			*(*time.Time)(p) = time.UnixMilli(n).UTC()
			return nil
		},
	}, nil
}

func buildDecimal(scale int32) *plan {
	s := DecimalSchema(scale, false)
	return &plan{
		schema: s,
		enc: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
			d := (*Decimal)(p)
			if d.Unscaled == nil {
				return nil, fmt.Errorf("%w: decimal with a nil Unscaled", ErrNull)
			}
			if d.Scale != scale {
				return nil, fmt.Errorf("%w: decimal scale %d, schema scale %d", ErrType, d.Scale, scale)
			}
			return appendBase64(dst, twosComplement(d.Unscaled)), nil
		},
		dec: func(sc *scanner, p unsafe.Pointer) error {
			d, err := sc.decimal(s)
			if err != nil {
				return err
			}
			*(*Decimal)(p) = d
			return nil
		},
	}
}

func buildSlice(t reflect.Type, visiting map[reflect.Type]bool) (*plan, error) {
	elem, err := build(t.Elem(), tagOptions{}, visiting)
	if err != nil {
		return nil, err
	}
	return &plan{
		schema: &Schema{Type: Array, Items: elem.schema},
		enc: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
			v := reflect.NewAt(t, p).Elem()
			dst = append(dst, '[')
			var err error
			for i := range v.Len() {
				if i > 0 {
					dst = append(dst, ',')
				}
				if dst, err = elem.encode(dst, v.Index(i).Addr().UnsafePointer()); err != nil {
					return nil, at(err, "["+strconv.Itoa(i)+"]")
				}
			}
			return append(dst, ']'), nil
		},
		dec: func(sc *scanner, p unsafe.Pointer) error {
			v := reflect.MakeSlice(t, 0, 0)
			zero := reflect.Zero(t.Elem())
			for i, err := range sc.elements() {
				if err != nil {
					return err
				}
				v = reflect.Append(v, zero)
				if err := elem.decode(sc, v.Index(i).Addr().UnsafePointer()); err != nil {
					return at(err, "["+strconv.Itoa(i)+"]")
				}
			}
			reflect.NewAt(t, p).Elem().Set(v)
			return nil
		},
	}, nil
}

func buildMap(t reflect.Type, visiting map[reflect.Type]bool) (*plan, error) {
	kt, vt := t.Key(), t.Elem()
	switch kt.Kind() {
	case reflect.Struct, reflect.Slice, reflect.Map, reflect.Pointer:
		if kt != timeType {
			return nil, fmt.Errorf("%w: unsupported map key type %s", ErrSchema, kt)
		}
	}
	kp, err := build(kt, tagOptions{}, visiting)
	if err != nil {
		return nil, err
	}
	vp, err := build(vt, tagOptions{}, visiting)
	if err != nil {
		return nil, err
	}
	mp := &mapPlan{t: t, key: kp, value: vp, stringKeys: kp.schema.Type == String}
	return &plan{
		schema: &Schema{Type: Map, Keys: kp.schema, Values: vp.schema},
		enc:    mp.encode,
		dec:    mp.decode,
	}, nil
}

// mapPlan encodes and decodes a Go map: a JSON object when its keys are strings,
// otherwise an array of [key, value] pairs, as JsonConverter writes maps.
type mapPlan struct {
	t          reflect.Type
	key, value *plan
	stringKeys bool
}

func (mp *mapPlan) encode(dst []byte, p unsafe.Pointer) ([]byte, error) {
	m := reflect.NewAt(mp.t, p).Elem()
	keys := m.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return compareKeys(a.Interface(), b.Interface()) })
	k, v := reflect.New(mp.t.Key()), reflect.New(mp.t.Elem())
	open, end := byte('{'), byte('}')
	if !mp.stringKeys {
		open, end = '[', ']'
	}
	dst = append(dst, open)
	var err error
	for i, key := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		k.Elem().Set(key)
		v.Elem().Set(m.MapIndex(key))
		if mp.stringKeys {
			dst = append(AppendString(dst, key.String()), ':')
			if dst, err = mp.value.encode(dst, v.UnsafePointer()); err != nil {
				return nil, at(err, key.String())
			}
			continue
		}
		seg := "[" + strconv.Itoa(i) + "]"
		dst = append(dst, '[')
		if dst, err = mp.key.encode(dst, k.UnsafePointer()); err != nil {
			return nil, at(at(err, "[0]"), seg)
		}
		dst = append(dst, ',')
		if dst, err = mp.value.encode(dst, v.UnsafePointer()); err != nil {
			return nil, at(at(err, "[1]"), seg)
		}
		dst = append(dst, ']')
	}
	return append(dst, end), nil
}

func (mp *mapPlan) decode(sc *scanner, p unsafe.Pointer) error {
	m := reflect.MakeMap(mp.t)
	var err error
	if mp.stringKeys {
		err = mp.decodeObject(sc, m)
	} else {
		err = mp.decodePairs(sc, m)
	}
	if err != nil {
		return err
	}
	reflect.NewAt(mp.t, p).Elem().Set(m)
	return nil
}

// put sets m[k] = v unless m has k, and reports whether it did.
func put(m, k, v reflect.Value) bool {
	if m.MapIndex(k).IsValid() {
		return false
	}
	m.SetMapIndex(k, v)
	return true
}

func (mp *mapPlan) decodeObject(sc *scanner, m reflect.Value) error {
	for name, err := range sc.members(nil) {
		if err != nil {
			return err
		}
		ks := string(name)
		v := reflect.New(mp.t.Elem())
		if err := mp.value.decode(sc, v.UnsafePointer()); err != nil {
			return at(err, ks)
		}
		if !put(m, reflect.ValueOf(ks).Convert(mp.t.Key()), v.Elem()) {
			return duplicate(name)
		}
	}
	return nil
}

func (mp *mapPlan) decodePairs(sc *scanner, m reflect.Value) error {
	for i, err := range sc.elements() {
		if err != nil {
			return err
		}
		seg := "[" + strconv.Itoa(i) + "]"
		pair := &PathError{Err: fmt.Errorf("%w: map entry must be a [key, value] pair", ErrType)}
		if err := sc.expect('['); err != nil {
			return at(err, seg)
		}
		k, v := reflect.New(mp.t.Key()), reflect.New(mp.t.Elem())
		if err := mp.key.decode(sc, k.UnsafePointer()); err != nil {
			return at(at(err, "[0]"), seg)
		}
		if err := sc.expect(','); err != nil {
			return at(pair, seg)
		}
		if err := mp.value.decode(sc, v.UnsafePointer()); err != nil {
			return at(at(err, "[1]"), seg)
		}
		if err := sc.expect(']'); err != nil {
			return at(pair, seg)
		}
		if !put(m, k.Elem(), v.Elem()) {
			return &PathError{Path: seg + "[0]", Err: ErrDuplicateKey}
		}
	}
	return nil
}
