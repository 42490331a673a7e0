package envelope

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// Type is a Kafka Connect schema type, spelled as JsonConverter writes it.
type Type string

// The Connect schema types.
const (
	Int8       Type = "int8"
	Int16      Type = "int16"
	Int32      Type = "int32"
	Int64      Type = "int64"
	Float32    Type = "float"
	Float64    Type = "double"
	Boolean    Type = "boolean"
	String     Type = "string"
	Bytes      Type = "bytes"
	Array      Type = "array"
	Map        Type = "map"
	StructType Type = "struct" // Struct is the name of the generic struct value
)

// Names of the Connect logical types.
const (
	DecimalName   = "org.apache.kafka.connect.data.Decimal"   // bytes: base64 of the unscaled two's-complement value; parameter "scale"
	DateName      = "org.apache.kafka.connect.data.Date"      // int32: days since the epoch
	TimeName      = "org.apache.kafka.connect.data.Time"      // int32: milliseconds since midnight
	TimestampName = "org.apache.kafka.connect.data.Timestamp" // int64: milliseconds since the epoch
)

// ScaleParameter is the Decimal schema parameter holding the scale.
const ScaleParameter = "scale"

// Schema is a Kafka Connect schema. Version 0 means no version, and an empty
// Name or Doc means none. Default holds a value in the Go mapping that Decode
// uses (int32 for an int32 schema, *Struct for a struct and so on).
type Schema struct {
	Type       Type
	Optional   bool
	Default    any
	Name       string
	Version    int
	Doc        string
	Parameters map[string]string
	Items      *Schema // array elements
	Keys       *Schema // map keys
	Values     *Schema // map values
	Fields     []Field // struct fields, in order
}

// Field is one field of a struct schema.
type Field struct {
	Name   string
	Schema *Schema
}

// Field returns the field called name and its index.
func (s *Schema) Field(name string) (f Field, index int, ok bool) {
	for i, f := range s.Fields {
		if f.Name == name {
			return f, i, true
		}
	}
	return Field{}, -1, false
}

// Timestamp returns a Connect Timestamp schema (int64 milliseconds since the epoch).
func Timestamp(optional bool) *Schema {
	return &Schema{Type: Int64, Optional: optional, Name: TimestampName, Version: 1}
}

// Date returns a Connect Date schema (int32 days since the epoch).
func Date(optional bool) *Schema {
	return &Schema{Type: Int32, Optional: optional, Name: DateName, Version: 1}
}

// Time returns a Connect Time schema (int32 milliseconds since midnight).
func Time(optional bool) *Schema {
	return &Schema{Type: Int32, Optional: optional, Name: TimeName, Version: 1}
}

// DecimalSchema returns a Connect Decimal schema with the given scale.
func DecimalSchema(scale int32, optional bool) *Schema {
	return &Schema{Type: Bytes, Optional: optional, Name: DecimalName, Version: 1,
		Parameters: map[string]string{ScaleParameter: strconv.Itoa(int(scale))}}
}

type logicalKind uint8

const (
	plain logicalKind = iota
	decimalKind
	dateKind
	timeKind
	timestampKind
)

// logical reports which logical type s is, checking that the underlying type
// fits the name the way Connect's logical converters require.
func (s *Schema) logical() (logicalKind, error) {
	var k logicalKind
	var want Type
	switch s.Name {
	case DecimalName:
		k, want = decimalKind, Bytes
	case DateName:
		k, want = dateKind, Int32
	case TimeName:
		k, want = timeKind, Int32
	case TimestampName:
		k, want = timestampKind, Int64
	default:
		return plain, nil
	}
	if s.Type != want {
		return plain, fmt.Errorf("%w: %s needs type %s, not %s", ErrSchema, s.Name, want, s.Type)
	}
	if k == decimalKind {
		if _, err := s.scale(); err != nil {
			return plain, err
		}
	}
	return k, nil
}

func (s *Schema) scale() (int32, error) {
	p, ok := s.Parameters[ScaleParameter]
	if !ok {
		return 0, fmt.Errorf("%w: decimal without a %q parameter", ErrSchema, ScaleParameter)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: decimal scale %q is not an int32", ErrSchema, p)
	}
	return int32(n), nil
}

// MarshalJSON writes s exactly as JsonConverter.asJsonSchema does: compact,
// with the keys in the order type, items | keys, values | fields, optional,
// name, version, doc, parameters, default, and a struct field's name appended
// last as "field". Parameters are written in key order.
func (s *Schema) MarshalJSON() ([]byte, error) {
	if s == nil {
		return []byte("null"), nil
	}
	return appendSchema(nil, s, "", false)
}

func appendSchema(dst []byte, s *Schema, field string, isField bool) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil schema", ErrSchema)
	}
	if !s.Type.valid() {
		return nil, fmt.Errorf("%w: unknown type %q", ErrSchema, s.Type)
	}
	var err error
	dst = append(dst, `{"type":"`...)
	dst = append(dst, s.Type...)
	dst = append(dst, '"')
	if dst, err = appendChildren(dst, s); err != nil {
		return nil, err
	}
	if s.Optional {
		dst = append(dst, `,"optional":true`...)
	} else {
		dst = append(dst, `,"optional":false`...)
	}
	if s.Name != "" {
		dst = append(dst, `,"name":`...)
		dst = AppendString(dst, s.Name)
	}
	if s.Version != 0 {
		dst = append(dst, `,"version":`...)
		dst = strconv.AppendInt(dst, int64(s.Version), 10)
	}
	if s.Doc != "" {
		dst = append(dst, `,"doc":`...)
		dst = AppendString(dst, s.Doc)
	}
	if len(s.Parameters) > 0 {
		dst = appendParameters(append(dst, `,"parameters":`...), s.Parameters)
	}
	if s.Default != nil {
		dst = append(dst, `,"default":`...)
		if dst, err = appendValue(dst, s, s.Default, 0); err != nil {
			return nil, at(err, "default")
		}
	}
	if isField {
		dst = append(dst, `,"field":`...)
		dst = AppendString(dst, field)
	}
	return append(dst, '}'), nil
}

// appendChildren writes the schemas inside s: an array's items, a map's keys and
// values, a struct's fields.
func appendChildren(dst []byte, s *Schema) ([]byte, error) {
	var err error
	switch s.Type {
	case Array:
		dst = append(dst, `,"items":`...)
		if dst, err = appendSchema(dst, s.Items, "", false); err != nil {
			return nil, at(err, "items")
		}
	case Map:
		dst = append(dst, `,"keys":`...)
		if dst, err = appendSchema(dst, s.Keys, "", false); err != nil {
			return nil, at(err, "keys")
		}
		dst = append(dst, `,"values":`...)
		if dst, err = appendSchema(dst, s.Values, "", false); err != nil {
			return nil, at(err, "values")
		}
	case StructType:
		dst = append(dst, `,"fields":[`...)
		for i, f := range s.Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendSchema(dst, f.Schema, f.Name, true); err != nil {
				return nil, at(err, "fields["+strconv.Itoa(i)+"]")
			}
		}
		dst = append(dst, ']')
	}
	return dst, nil
}

// appendParameters writes schema parameters as a JSON object, in key order.
func appendParameters(dst []byte, params map[string]string) []byte {
	dst = append(dst, '{')
	for i, k := range slices.Sorted(maps.Keys(params)) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, k)
		dst = append(dst, ':')
		dst = AppendString(dst, params[k])
	}
	return append(dst, '}')
}

func (t Type) valid() bool {
	switch t {
	case Int8, Int16, Int32, Int64, Float32, Float64, Boolean, String, Bytes, Array, Map, StructType:
		return true
	}
	return false
}

// UnmarshalJSON reads a JsonConverter schema. It is stricter than
// JsonConverter: "optional" must be a boolean, "version" an int32, a logical
// type must have its underlying type, field names must be unique, and the
// default must match the schema. Unknown keys are ignored, as JsonConverter
// does. Errors are *PathError.
func (s *Schema) UnmarshalJSON(data []byte) error {
	sc := scanner{data: data}
	got, err := sc.schema(0)
	if err != nil {
		return err
	}
	if err := sc.end(); err != nil {
		return err
	}
	if got == nil {
		return &PathError{Err: fmt.Errorf("%w: null schema", ErrSchema)}
	}
	*s = *got
	return nil
}

// schema parses one schema object (or null, which returns nil).
func (sc *scanner) schema(depth int) (*Schema, error) {
	if depth > maxDepth {
		return nil, sc.syntax("nested too deeply")
	}
	if sc.peek() == 'n' {
		return nil, sc.literal("null")
	}
	b := schemaBuilder{s: &Schema{}}
	var names keySet
	for name, err := range sc.members(&names) {
		if err != nil {
			return nil, err
		}
		key := string(name)
		if err := sc.schemaMember(&b, key, depth); err != nil {
			return nil, at(err, key)
		}
	}
	return b.finish(depth)
}

// schemaBuilder collects the members of one schema object.
type schemaBuilder struct {
	s                                                *Schema
	hasType, hasItems, hasKeys, hasValues, hasFields bool
	def                                              []byte // the default, read once the type is known
}

// schemaMember reads the value of the schema object member key into b.
func (sc *scanner) schemaMember(b *schemaBuilder, key string, depth int) error {
	s := b.s
	var err error
	switch key {
	case "type":
		var t string
		if t, err = sc.stringValue(); err == nil {
			s.Type, b.hasType = Type(t), true
			if !s.Type.valid() {
				err = &PathError{Err: fmt.Errorf("%w: unknown type %q", ErrSchema, t)}
			}
		}
	case "optional":
		s.Optional, err = sc.boolValue()
	case "name":
		s.Name, err = sc.stringValue()
	case "doc":
		s.Doc, err = sc.stringValue()
	case "version":
		var n int64
		n, err = sc.intValue(Int32)
		s.Version = int(n)
	case "parameters":
		s.Parameters, err = sc.parameters()
	case "items":
		s.Items, err = sc.schema(depth + 1)
		b.hasItems = s.Items != nil
	case "keys":
		s.Keys, err = sc.schema(depth + 1)
		b.hasKeys = s.Keys != nil
	case "values":
		s.Values, err = sc.schema(depth + 1)
		b.hasValues = s.Values != nil
	case "fields":
		s.Fields, err = sc.fields(depth + 1)
		b.hasFields = true
	case "default":
		start := sc.pos
		err = sc.skip(depth + 1)
		b.def = sc.data[start:sc.pos]
	default: // JsonConverter ignores unknown keys ("field" among them)
		err = sc.skip(depth + 1)
	}
	return err
}

// finish checks that the schema has what its type needs, and reads its default.
func (b *schemaBuilder) finish(depth int) (*Schema, error) {
	s := b.s
	if !b.hasType {
		return nil, &PathError{Path: "type", Err: fmt.Errorf("%w: schema must contain 'type'", ErrSchema)}
	}
	switch {
	case s.Type == Array && !b.hasItems:
		return nil, &PathError{Path: "items", Err: fmt.Errorf("%w: array schema without items", ErrSchema)}
	case s.Type == Map && !b.hasKeys:
		return nil, &PathError{Path: "keys", Err: fmt.Errorf("%w: map schema without keys", ErrSchema)}
	case s.Type == Map && !b.hasValues:
		return nil, &PathError{Path: "values", Err: fmt.Errorf("%w: map schema without values", ErrSchema)}
	case s.Type == StructType && !b.hasFields:
		return nil, &PathError{Path: "fields", Err: fmt.Errorf("%w: struct schema without fields", ErrSchema)}
	}
	if _, err := s.logical(); err != nil {
		return nil, &PathError{Path: "name", Err: err}
	}
	if b.def != nil {
		dsc := scanner{data: b.def}
		v, err := dsc.value(s, depth+1)
		if err != nil {
			return nil, at(err, "default")
		}
		s.Default = v
	}
	return s, nil
}

func (sc *scanner) fields(depth int) ([]Field, error) {
	fields := []Field{}
	for i, err := range sc.elements() {
		if err != nil {
			return nil, err
		}
		start := sc.pos
		fs, err := sc.schema(depth)
		if err != nil {
			return nil, at(err, "["+strconv.Itoa(i)+"]")
		}
		if fs == nil {
			return nil, &PathError{Path: "[" + strconv.Itoa(i) + "]", Err: fmt.Errorf("%w: null field schema", ErrSchema)}
		}
		name, err := fieldName(sc.data[start:sc.pos])
		if err != nil {
			return nil, at(err, "["+strconv.Itoa(i)+"].field")
		}
		for _, f := range fields {
			if f.Name == name {
				return nil, &PathError{Path: "[" + strconv.Itoa(i) + "].field", Err: fmt.Errorf("%w: duplicate field %q", ErrSchema, name)}
			}
		}
		fields = append(fields, Field{Name: name, Schema: fs})
	}
	return fields, nil
}

// fieldName finds the "field" key of an already validated field schema object.
func fieldName(obj []byte) (string, error) {
	sc := scanner{data: obj}
	for name, err := range sc.members(nil) {
		if err != nil {
			return "", err
		}
		if string(name) == "field" {
			return sc.stringValue()
		}
		if err := sc.skip(0); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("%w: struct field without a \"field\" name", ErrSchema)
}

func (sc *scanner) parameters() (map[string]string, error) {
	params := map[string]string{}
	for name, err := range sc.members(nil) {
		if err != nil {
			return nil, err
		}
		key := string(name)
		if _, dup := params[key]; dup {
			return nil, at(sc.syntax("duplicate key"), key)
		}
		v, err := sc.stringValue()
		if err != nil {
			return nil, at(fmt.Errorf("%w: schema parameters must have string values", ErrSchema), key)
		}
		params[key] = v
	}
	if len(params) == 0 {
		return nil, nil
	}
	return params, nil
}
