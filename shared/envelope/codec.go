package envelope

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Codec encodes and decodes one Go struct type as JsonConverter envelopes.
// The schema is derived once from the struct's `connect` field tags, and the
// schema bytes and per-field encoders are built once, so encoding a record
// writes only the payload. A Codec is safe for concurrent use.
//
// Field tags: `connect:"name[,option...]"`; "-" skips the field and an
// untagged exported field uses its Go name. Options:
//
//	optional   the zero value is written as null and null reads as the zero value
//	timestamp  time.Time as a Timestamp (int64 milliseconds since the epoch)
//	date       time.Time as a Date (int32 days since the epoch; midnight UTC)
//	time       time.Time as a Time (int32 milliseconds since midnight UTC)
//	decimal=N  Decimal as a Decimal of scale N
//
// Pointer fields are optional, with nil as null. Go kinds map to int8, int16,
// int32, int64 (int too), float, double, boolean and string (named string
// types too); []byte is bytes, other slices are arrays, maps are maps (string
// keys as a JSON object, other keys as [key, value] pairs in key order) and
// nested structs are structs.
type Codec[T any] struct {
	once    sync.Once // builds a codec of LazyCodec on first use
	lazy    string    // LazyCodec's schema name
	lazyErr error

	schema     *Schema
	schemaJSON []byte // the schema exactly as written on the wire
	prefix     []byte // {"schema":<schemaJSON>,"payload":
	plan       *plan
	hint       atomic.Int64           // size of the largest envelope so far, to size buffers
	alias      atomic.Pointer[Schema] // a differently spelled schema found equal to ours
}

type codecKey struct {
	t    reflect.Type
	name string
}

var plans sync.Map // codecKey → *plan

// NewCodec returns the codec of struct type T with struct schema name name
// (such as "orders"; "" for none). Plans are cached per type and name.
func NewCodec[T any](name string) (*Codec[T], error) {
	c := &Codec[T]{}
	c.once.Do(func() {}) // built here, not on first use
	if err := c.build(name); err != nil {
		return nil, err
	}
	return c, nil
}

// LazyCodec returns the codec NewCodec would, built on its first use (or by Build)
// rather than now: a codec declared as a package variable then costs a program's
// start-up nothing, and the program can build it off its critical path. A type
// NewCodec refuses makes the first use panic, which the type's tests show at once.
func LazyCodec[T any](name string) *Codec[T] {
	return &Codec[T]{lazy: name}
}

// Build builds a codec of LazyCodec now if it is not built yet, and returns the error
// NewCodec would have returned; it is a no-op for a codec of NewCodec.
func (c *Codec[T]) Build() error {
	c.once.Do(func() { c.lazyErr = c.build(c.lazy) })
	return c.lazyErr
}

// ready builds a lazy codec on its first use.
func (c *Codec[T]) ready() {
	if err := c.Build(); err != nil {
		panic(err)
	}
}

func (c *Codec[T]) build(name string) error {
	t := reflect.TypeFor[T]()
	key := codecKey{t, name}
	pl, ok := plans.Load(key)
	if !ok {
		if t.Kind() != reflect.Struct {
			return fmt.Errorf("%w: %s is not a struct", ErrSchema, t)
		}
		built, err := buildStruct(t, map[reflect.Type]bool{})
		if err != nil {
			return fmt.Errorf("envelope codec for %s: %w", t, err)
		}
		built.schema.Name = name
		pl, _ = plans.LoadOrStore(key, built)
	}
	c.plan, c.schema = pl.(*plan), pl.(*plan).schema
	var err error
	if c.schemaJSON, err = c.schema.MarshalJSON(); err != nil {
		return fmt.Errorf("envelope codec for %s: %w", t, err)
	}
	c.prefix = slices.Concat([]byte(`{"schema":`), c.schemaJSON, []byte(`,"payload":`))
	c.hint.Store(int64(len(c.prefix) + 256))
	return nil
}

// Schema returns the codec's schema. It is shared: do not modify it.
func (c *Codec[T]) Schema() *Schema {
	c.ready()
	return c.schema
}

// Encode returns v as an envelope. Errors are *PathError.
func (c *Codec[T]) Encode(v *T) ([]byte, error) {
	c.ready()
	return c.appendTo(make([]byte, 0, c.hint.Load()), v)
}

// Append appends v as an envelope to dst. Errors are *PathError.
func (c *Codec[T]) Append(dst []byte, v *T) ([]byte, error) {
	c.ready()
	return c.appendTo(dst, v)
}

// appendTo is Append on a built codec.
func (c *Codec[T]) appendTo(dst []byte, v *T) ([]byte, error) {
	if v == nil {
		return nil, &PathError{Path: "payload", Err: fmt.Errorf("%w: struct", ErrNull)}
	}
	start := len(dst)
	dst = append(dst, c.prefix...)
	dst, err := c.plan.enc(dst, unsafe.Pointer(v))
	if err != nil {
		return nil, at(err, "payload")
	}
	dst = append(dst, '}')
	if n := int64(len(dst) - start); n > c.hint.Load() {
		c.hint.Store(n)
	}
	return dst, nil
}

// Decode reads an envelope into v. The schema must be the codec's: the exact
// bytes the codec writes are recognised without parsing; any other spelling
// is parsed and must describe the same schema. The payload is checked as
// strictly as by Decode, and an optional field that is absent or null sets
// the zero value. Errors are *PathError; after an error v may be partly
// written.
func (c *Codec[T]) Decode(data []byte, v *T) error {
	c.ready()
	if v == nil {
		return &PathError{Err: fmt.Errorf("%w: decode into a nil pointer", ErrNull)}
	}
	if len(data) == 0 {
		return &PathError{Err: fmt.Errorf("%w: empty record (a tombstone)", ErrEnvelope)}
	}
	sc := scanner{data: data}
	if err := sc.open(); err != nil {
		return err
	}
	p := unsafe.Pointer(v)
	var seen [3]bool
	pending := -1 // start of a payload that came before the schema
	for {
		m, err := sc.member(&seen)
		if err != nil {
			return err
		}
		switch m {
		case memberSchema:
			sc.ws()
			if bytes.HasPrefix(sc.data[sc.pos:], c.schemaJSON) {
				sc.pos += len(c.schemaJSON)
			} else {
				err = c.sameSchema(&sc)
			}
		case memberPayload:
			if seen[memberSchema] {
				err = c.plan.decode(&sc, p)
			} else {
				pending = sc.pos
				err = sc.skip(1)
			}
		}
		if err != nil {
			return at(err, memberNames[m])
		}
		if m == memberEnd {
			break
		}
	}
	if !seen[memberSchema] || !seen[memberPayload] {
		return errIncomplete()
	}
	if pending >= 0 {
		psc := scanner{data: data, pos: pending}
		if err := c.plan.decode(&psc, p); err != nil {
			return at(err, "payload")
		}
	}
	return nil
}

// sameSchema parses a schema spelled differently from the codec's (other key
// order, white space, escapes) and checks that it is the same schema.
func (c *Codec[T]) sameSchema(sc *scanner) error {
	s, err := sc.cachedSchema()
	if err != nil {
		return err
	}
	if s == nil {
		return &PathError{Err: fmt.Errorf("%w: null schema", ErrSchema)}
	}
	if s == c.alias.Load() {
		return nil
	}
	b, err := s.MarshalJSON()
	if err != nil {
		return &PathError{Err: err}
	}
	if !bytes.Equal(b, c.schemaJSON) {
		return &PathError{Err: fmt.Errorf("%w: not the codec's schema: %s", ErrSchema, schemaDiff(s, c.schema))}
	}
	c.alias.Store(s)
	return nil
}

// schemaDiff describes the first difference between two struct schemas.
func schemaDiff(got, want *Schema) string {
	if got.Type != want.Type {
		return fmt.Sprintf("type %s, want %s", got.Type, want.Type)
	}
	for _, f := range got.Fields {
		wf, _, ok := want.Field(f.Name)
		if !ok {
			return fmt.Sprintf("field %q is not in the codec's schema", f.Name)
		}
		a, errA := f.Schema.MarshalJSON()
		b, errB := wf.Schema.MarshalJSON()
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			return fmt.Sprintf("field %q is %s, want %s", f.Name, a, b)
		}
	}
	for i, f := range want.Fields {
		if _, j, ok := got.Field(f.Name); !ok {
			return fmt.Sprintf("field %q is missing", f.Name)
		} else if j != i {
			return fmt.Sprintf("field %q is at position %d, want %d", f.Name, j, i)
		}
	}
	return fmt.Sprintf("name %q optional %t, want name %q optional %t", got.Name, got.Optional, want.Name, want.Optional)
}
