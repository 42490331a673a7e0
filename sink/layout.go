package sink

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A record is one Kafka record after the converters: the sink's SinkRecord.
type record struct {
	kr          *kgo.Record
	table       tableID
	keySchema   *envelope.Schema // nil for a null key
	key         any
	valueSchema *envelope.Schema // nil for a tombstone
	value       *envelope.Struct // nil for a tombstone
}

func (r *record) tombstone() bool { return r.value == nil }

// Where a column's value comes from.
type source int

const (
	fromTopic source = iota
	fromPartition
	fromOffset
	fromKey      // a primitive key
	fromKeyField // field idx of a struct key
	fromValueField
)

// A column is SinkRecordField: a table column and where its value comes from.
type column struct {
	name     string
	schema   *envelope.Schema
	key      bool
	optional bool // !key && schema.Optional
	sqlType  string
	from     source
	idx      int
}

// A layout is FieldsMetadata for one (table, key schema, value schema): the key and
// non-key columns, the CREATE order, and the statement texts built for it.
type layout struct {
	table      tableID
	keys       []*column // keyFieldNames order
	nonKey     []*column // value schema order
	all        []*column // CREATE TABLE order
	insertCols []*column // keys then non-keys, as the connector binds them
	mapErr     error     // a column without a SQL type; reported only when DDL is needed
}

// schemaKey writes a schema's identity for the layout cache.
func schemaKey(b *strings.Builder, s *envelope.Schema) {
	if s == nil {
		b.WriteString("nil")
		return
	}
	b.WriteString(string(s.Type))
	if s.Optional {
		b.WriteByte('?')
	}
	if s.Name != "" {
		b.WriteString("<" + s.Name + ">")
	}
	if s.Version != 0 {
		b.WriteString("v" + strconv.Itoa(s.Version))
	}
	if len(s.Parameters) > 0 {
		keys := make([]string, 0, len(s.Parameters))
		for k := range s.Parameters {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(b, "[%q=%q]", k, s.Parameters[k])
		}
	}
	if s.Default != nil {
		fmt.Fprintf(b, "=%#v", s.Default)
	}
	if s.Items != nil {
		b.WriteString("items:")
		schemaKey(b, s.Items)
	}
	if s.Keys != nil {
		b.WriteString("keys:")
		schemaKey(b, s.Keys)
		b.WriteString("values:")
		schemaKey(b, s.Values)
	}
	if s.Type == envelope.StructType {
		b.WriteByte('{')
		for _, f := range s.Fields {
			b.WriteString(strconv.Quote(f.Name))
			b.WriteByte(':')
			schemaKey(b, f.Schema)
			b.WriteByte(',')
		}
		b.WriteByte('}')
	}
}

// sameSchema reports whether two schemas are equal, as ConnectSchema.equals does; it
// decides where a run of records with one layout ends.
func sameSchema(a, b *envelope.Schema) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	if a.Type != b.Type || a.Optional != b.Optional || a.Name != b.Name || a.Version != b.Version ||
		len(a.Fields) != len(b.Fields) || len(a.Parameters) != len(b.Parameters) {
		return false
	}
	for k, v := range a.Parameters {
		if b.Parameters[k] != v {
			return false
		}
	}
	if (a.Default != nil || b.Default != nil) && !reflect.DeepEqual(a.Default, b.Default) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Name != b.Fields[i].Name || !sameSchema(a.Fields[i].Schema, b.Fields[i].Schema) {
			return false
		}
	}
	return sameSchema(a.Items, b.Items) && sameSchema(a.Keys, b.Keys) && sameSchema(a.Values, b.Values)
}

var (
	topicSchema     = &envelope.Schema{Type: envelope.String}
	partitionSchema = &envelope.Schema{Type: envelope.Int32}
	offsetSchema    = &envelope.Schema{Type: envelope.Int64}
)

// newLayout is FieldsMetadata.extract. Its errors are the connector's ConnectExceptions
// (configuration and record-shape problems that fail the task whatever errors.tolerance).
func newLayout(c *Config, w sqlWriter, table tableID, keySchema, valueSchema *envelope.Schema) (*layout, error) {
	if valueSchema != nil && valueSchema.Type != envelope.StructType {
		return nil, fmt.Errorf("%w: value schema must be of type Struct, got %s", ErrRecord, strings.ToUpper(string(valueSchema.Type)))
	}
	b := layoutBuilder{l: &layout{table: table}, byName: map[string]*column{}}
	if err := b.keyColumns(c, table, keySchema, valueSchema); err != nil {
		return nil, err
	}
	if valueSchema != nil {
		for i, f := range valueSchema.Fields {
			if _, isKey := b.byName[f.Name]; isKey {
				continue
			}
			if len(c.FieldsWhitelist) > 0 && !slices.Contains(c.FieldsWhitelist, f.Name) {
				continue
			}
			b.add(&column{name: f.Name, schema: f.Schema, from: fromValueField, idx: i, optional: f.Schema.Optional})
		}
	}
	l := b.l
	if len(l.keys)+len(l.nonKey) == 0 && valueSchema != nil {
		return nil, fmt.Errorf("%w: no fields found using key and value schemas for table %s", ErrRecord, table)
	}
	b.createOrder(valueSchema)
	l.insertCols = append(append([]*column{}, l.keys...), l.nonKey...)
	if err := l.check(w); err != nil {
		return nil, err
	}
	return l, nil
}

// layoutBuilder collects a layout's columns, each name once.
type layoutBuilder struct {
	l      *layout
	byName map[string]*column
}

func (b *layoutBuilder) add(col *column) {
	if _, dup := b.byName[col.name]; dup {
		return
	}
	b.byName[col.name] = col
	if col.key {
		b.l.keys = append(b.l.keys, col)
	} else {
		b.l.nonKey = append(b.l.nonKey, col)
	}
}

// keyColumns adds the primary key columns pk.mode and pk.fields ask for.
func (b *layoutBuilder) keyColumns(c *Config, table tableID, keySchema, valueSchema *envelope.Schema) error {
	switch c.PKMode {
	case PKKafka:
		names := kafkaPKNames
		if len(c.PKFields) == 3 {
			names = c.PKFields
		}
		b.add(&column{name: names[0], schema: topicSchema, key: true, from: fromTopic})
		b.add(&column{name: names[1], schema: partitionSchema, key: true, from: fromPartition})
		b.add(&column{name: names[2], schema: offsetSchema, key: true, from: fromOffset})
	case PKRecordKey:
		if keySchema == nil {
			return fmt.Errorf("%w: pk.mode=record_key, but the record key is null (no key schema) for table %s", ErrRecord, table)
		}
		if keySchema.Type != envelope.StructType {
			if len(c.PKFields) != 1 {
				return fmt.Errorf("%w: need exactly one pk.fields name since the key schema for records is a primitive type, defined columns are: %v", ErrRecord, c.PKFields)
			}
			b.add(&column{name: c.PKFields[0], schema: keySchema, key: true, from: fromKey})
			return nil
		}
		return b.structKey(c.PKFields, keySchema, fromKeyField, "key")
	case PKRecordValue:
		if valueSchema == nil {
			return fmt.Errorf("%w: pk.mode=record_value, but the record value schema is missing for table %s", ErrRecord, table)
		}
		return b.structKey(c.PKFields, valueSchema, fromValueField, "value")
	}
	return nil
}

// structKey adds the named fields of a struct (all of them when names is empty) as
// key columns.
func (b *layoutBuilder) structKey(names []string, s *envelope.Schema, from source, what string) error {
	if len(names) == 0 {
		for i, f := range s.Fields {
			b.add(&column{name: f.Name, schema: f.Schema, key: true, from: from, idx: i})
		}
		return nil
	}
	for _, name := range names {
		f, i, ok := s.Field(name)
		if !ok {
			return fmt.Errorf("%w: pk.fields %q is not a field of the record %s", ErrRecord, name, what)
		}
		b.add(&column{name: f.Name, schema: f.Schema, key: true, from: from, idx: i})
	}
	return nil
}

// createOrder sets the CREATE order: Kafka coordinates, then the value schema's order,
// then the rest alphabetically.
func (b *layoutBuilder) createOrder(valueSchema *envelope.Schema) {
	l := b.l
	seen := map[string]bool{}
	for _, n := range kafkaPKNames {
		if col, ok := b.byName[n]; ok && !seen[n] {
			l.all, seen[n] = append(l.all, col), true
		}
	}
	if valueSchema != nil {
		for _, f := range valueSchema.Fields {
			if col, ok := b.byName[f.Name]; ok && !seen[f.Name] {
				l.all, seen[f.Name] = append(l.all, col), true
			}
		}
	}
	var rest []string
	for n := range b.byName {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	for _, n := range rest {
		l.all = append(l.all, b.byName[n])
	}
}

// check refuses names the dialect cannot carry and maps each column to its SQL type;
// a type without a mapping is kept in mapErr, reported only when DDL is needed.
func (l *layout) check(w sqlWriter) error {
	if err := w.checkTable(l.table); err != nil {
		return fmt.Errorf("%w: table %s: %w", ErrTable, l.table, err)
	}
	for _, col := range l.all {
		if err := w.checkIdent(col.name); err != nil {
			return fmt.Errorf("%w: table %s: column: %w", ErrTable, l.table, err)
		}
		t, err := sqlType(col.schema)
		if err != nil {
			if l.mapErr == nil {
				l.mapErr = fmt.Errorf("%w: column %s: %w", ErrRecord, col.name, err)
			}
			continue
		}
		col.sqlType = t
	}
	return nil
}

// args appends the bound values of r's row in insert order.
func (l *layout) args(dst []any, cols []*column, r *record) ([]any, error) {
	var kv, vv []any
	if s, ok := r.key.(*envelope.Struct); ok {
		kv = s.Values()
	}
	if r.value != nil {
		vv = r.value.Values()
	}
	for _, c := range cols {
		var v any
		switch c.from {
		case fromTopic:
			v = r.kr.Topic
		case fromPartition:
			v = int64(r.kr.Partition)
		case fromOffset:
			v = r.kr.Offset
		case fromKey:
			v = r.key
		case fromKeyField:
			v = kv[c.idx]
		case fromValueField:
			v = vv[c.idx]
		}
		b, err := bindValue(c.schema, v)
		if err != nil {
			return dst, &recordFault{r.kr, fmt.Errorf("%w: %s[%d]@%d: column %s: %w", ErrRecord, r.kr.Topic, r.kr.Partition, r.kr.Offset, c.name, err)}
		}
		dst = append(dst, b)
	}
	return dst, nil
}
