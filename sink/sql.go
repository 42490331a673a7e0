package sink

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ordersync/ordersync/shared/db"

	"github.com/ordersync/ordersync/shared/envelope"
)

// Kafka coordinate columns of pk.mode=kafka (JdbcSinkConfig.DEFAULT_KAFKA_PK_NAMES).
var kafkaPKNames = []string{"__connect_topic", "__connect_partition", "__connect_offset"}

// A tableID is a [catalog.]table name as the MySQL dialect parses table.name.format.
type tableID struct{ catalog, name string }

func parseTableID(s string) tableID {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return tableID{catalog: s[:i], name: s[i+1:]}
	}
	return tableID{name: s}
}

func (t tableID) String() string {
	if t.catalog != "" {
		return t.catalog + "." + t.name
	}
	return t.name
}

// sqlWriter builds the statements of the JDBC sink's MySQL dialect. SQLite gets the same
// DDL (SQLite accepts MySQL type names and backtick quoting) and its own upsert clause.
//
// Nothing from a record or a config reaches a statement unquoted: names are quoted
// identifiers (checked by checkIdent first), values are bound parameters, and the one
// place a value is written into SQL text, a schema default in DDL, is a string literal
// escaped for the dialect and the connection's sql_mode (see literal).
type sqlWriter struct {
	dialect string
	quote   bool // quote.sql.identifiers=always
	// noBackslashEscapes: the MySQL connection runs with sql_mode NO_BACKSLASH_ESCAPES, so
	// a backslash in a string literal is an ordinary character. The DDL path reads it
	// from the connection that runs the statement; the zero value assumes MariaDB's default
	// mode, where a backslash escapes.
	noBackslashEscapes bool
}

// ident writes a name as a quoted identifier: in backticks, with a backtick inside the
// name doubled, which MySQL, MariaDB and SQLite all read back as one backtick. (The
// connector itself does not double it, so such a name breaks its statements; here it is
// created and written exactly.) Backticks rather than SQLite's standard double quotes:
// SQLite reads a double-quoted name that matches no column as a string literal, so a
// misspelt key in WHERE "k" = ? would silently compare a constant; a backticked name is
// only ever an identifier. With quote.sql.identifiers=never the name is written bare,
// and checkIdent admits only plain names then.
func (w sqlWriter) ident(b *strings.Builder, name string) {
	if !w.quote {
		b.WriteString(name)
		return
	}
	b.WriteByte('`')
	if strings.IndexByte(name, '`') >= 0 {
		name = strings.ReplaceAll(name, "`", "``")
	}
	b.WriteString(name)
	b.WriteByte('`')
}

// maxMySQLIdent is the longest MySQL / MariaDB table or column name, in characters.
const maxMySQLIdent = 64

// checkIdent refuses a name the dialect cannot hold, or, unquoted, could not carry as a
// plain name: empty, not UTF-8, NUL; for MySQL also over 64 characters, characters
// outside the Basic Multilingual Plane (MySQL's identifiers are utf8mb3) and a trailing
// space. Unquoted names (quote.sql.identifiers=never) must be [A-Za-z_][A-Za-z0-9_$]*.
func (w sqlWriter) checkIdent(name string) error {
	refuse := func(why string) error { return fmt.Errorf("%w: %q %s", errIdentifier, name, why) }
	switch {
	case name == "":
		return refuse("is empty")
	case !utf8.ValidString(name):
		return refuse("is not valid UTF-8")
	case strings.IndexByte(name, 0) >= 0:
		return refuse("contains NUL")
	case !w.quote && !plainIdent(name):
		return refuse("is not a plain name ([A-Za-z_][A-Za-z0-9_$]*) and quote.sql.identifiers=never writes it unquoted")
	}
	if w.dialect != db.MySQL {
		return nil
	}
	if n := utf8.RuneCountInString(name); n > maxMySQLIdent {
		return refuse(fmt.Sprintf("is %d characters long; MySQL names hold at most %d", n, maxMySQLIdent))
	}
	if strings.HasSuffix(name, " ") {
		return refuse("ends with a space, which MySQL names cannot")
	}
	for _, r := range name {
		if r > 0xFFFF {
			return refuse(fmt.Sprintf("contains %U, outside the Basic Multilingual Plane that MySQL names are limited to", r))
		}
	}
	return nil
}

// checkTable checks both parts of a table name.
func (w sqlWriter) checkTable(t tableID) error {
	if t.catalog != "" {
		if err := w.checkIdent(t.catalog); err != nil {
			return err
		}
	}
	return w.checkIdent(t.name)
}

func plainIdent(name string) bool {
	for i, r := range name {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r == '$' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}

func (w sqlWriter) table(b *strings.Builder, t tableID) {
	if t.catalog != "" {
		w.ident(b, t.catalog)
		b.WriteByte('.')
	}
	w.ident(b, t.name)
}

// list writes item(c) for each of cols with sep between them: the shape of every list
// of columns in a statement.
func list(b *strings.Builder, cols []*column, sep string, item func(c *column)) {
	for i, c := range cols {
		if i > 0 {
			b.WriteString(sep)
		}
		item(c)
	}
}

func (w sqlWriter) columnList(b *strings.Builder, cols []*column) {
	list(b, cols, ",", func(c *column) { w.ident(b, c.name) })
}

// params writes `c` = ? for each of cols, with sep between them.
func (w sqlWriter) params(b *strings.Builder, cols []*column, sep string) {
	list(b, cols, sep, func(c *column) {
		w.ident(b, c.name)
		b.WriteString(" = ?")
	})
}

// insert builds a multi-row INSERT (insert.mode=insert) or upsert for rows rows:
//
//	INSERT INTO `t`(`k`,`a`) VALUES(?,?),(?,?)
//	insert into `t`(`k`,`a`) values(?,?),(?,?) on duplicate key update `a`=values(`a`)    MySQL
//	INSERT INTO `t`(`k`,`a`) VALUES(?,?),(?,?) ON CONFLICT(`k`) DO UPDATE SET `a`=excluded.`a`    SQLite
func (w sqlWriter) insert(l *layout, rows int, upsert bool) string {
	var b strings.Builder
	cols := l.insertCols
	b.Grow(64 + rows*(2*len(cols)+3))
	kw := func(upper, lower string) {
		if upsert && w.dialect == db.MySQL {
			b.WriteString(lower)
		} else {
			b.WriteString(upper)
		}
	}
	kw("INSERT INTO ", "insert into ")
	w.table(&b, l.table)
	b.WriteByte('(')
	w.columnList(&b, cols)
	b.WriteByte(')')
	kw(" VALUES", " values")
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		list(&b, cols, ",", func(*column) { b.WriteByte('?') })
		b.WriteByte(')')
	}
	if !upsert {
		return b.String()
	}
	update := l.nonKey
	if len(update) == 0 {
		update = l.keys
	}
	if w.dialect == db.MySQL {
		b.WriteString(" on duplicate key update ")
		list(&b, update, ",", func(c *column) {
			w.ident(&b, c.name)
			b.WriteString("=values(")
			w.ident(&b, c.name)
			b.WriteByte(')')
		})
		return b.String()
	}
	b.WriteString(" ON CONFLICT(")
	w.columnList(&b, l.keys)
	b.WriteString(") DO UPDATE SET ")
	list(&b, update, ",", func(c *column) {
		w.ident(&b, c.name)
		b.WriteString("=excluded.")
		w.ident(&b, c.name)
	})
	return b.String()
}

// update builds UPDATE `t` SET `a` = ?, `b` = ? WHERE `k` = ? (insert.mode=update).
func (w sqlWriter) update(l *layout) string {
	var b strings.Builder
	b.WriteString("UPDATE ")
	w.table(&b, l.table)
	b.WriteString(" SET ")
	w.params(&b, l.nonKey, ", ")
	w.where(&b, l.keys)
	return b.String()
}

// delete builds DELETE FROM `t` WHERE `k` = ? (delete.enabled with tombstones).
func (w sqlWriter) delete(l *layout) string {
	var b strings.Builder
	b.WriteString("DELETE FROM ")
	w.table(&b, l.table)
	w.where(&b, l.keys)
	return b.String()
}

func (w sqlWriter) where(b *strings.Builder, keys []*column) {
	if len(keys) > 0 {
		b.WriteString(" WHERE ")
		w.params(b, keys, " AND ")
	}
}

// create builds the connector's CREATE TABLE: every column in FieldsMetadata order, then
// PRIMARY KEY over the key columns in that order.
func (w sqlWriter) create(l *layout) (string, error) {
	var b strings.Builder
	b.WriteString("CREATE TABLE ")
	w.table(&b, l.table)
	b.WriteString(" (")
	var pk []*column
	for i, c := range l.all {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
		if err := w.columnSpec(&b, c); err != nil {
			return "", err
		}
		if c.key {
			pk = append(pk, c)
		}
	}
	if len(pk) > 0 {
		b.WriteString(",\nPRIMARY KEY(")
		w.columnList(&b, pk)
		b.WriteByte(')')
	}
	b.WriteByte(')')
	return b.String(), nil
}

// alter builds the auto.evolve statements: MySQL adds every column in one ALTER TABLE,
// SQLite (which takes one ADD per statement) gets one ALTER TABLE per column.
func (w sqlWriter) alter(t tableID, cols []*column) ([]string, error) {
	if w.dialect == db.SQLite {
		var out []string
		for _, c := range cols {
			var b strings.Builder
			b.WriteString("ALTER TABLE ")
			w.table(&b, t)
			b.WriteString(" ADD ")
			if err := w.columnSpec(&b, c); err != nil {
				return nil, err
			}
			out = append(out, b.String())
		}
		return out, nil
	}
	var b strings.Builder
	b.WriteString("ALTER TABLE ")
	w.table(&b, t)
	b.WriteByte(' ')
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		if len(cols) > 1 {
			b.WriteByte('\n')
		}
		b.WriteString("ADD ")
		if err := w.columnSpec(&b, c); err != nil {
			return nil, err
		}
	}
	return []string{b.String()}, nil
}

// columnSpec writes `name` TYPE followed by DEFAULT <literal>, NULL or NOT NULL.
func (w sqlWriter) columnSpec(b *strings.Builder, c *column) error {
	w.ident(b, c.name)
	b.WriteByte(' ')
	b.WriteString(c.sqlType)
	switch {
	case c.schema.Default != nil:
		lit, err := w.literal(c.schema, c.schema.Default)
		if err != nil {
			return err
		}
		b.WriteString(" DEFAULT ")
		b.WriteString(lit)
	case c.optional:
		b.WriteString(" NULL")
	default:
		b.WriteString(" NOT NULL")
	}
	return nil
}

// sqlType is MySqlDatabaseDialect.getSqlType: the column type auto.create and auto.evolve
// give a Connect schema. Both targets get the same names; SQLite derives its affinity.
func sqlType(s *envelope.Schema) (string, error) {
	if s.Name == envelope.DecimalName {
		scale := s.Parameters[envelope.ScaleParameter]
		if _, err := strconv.Atoi(scale); err != nil {
			return "", fmt.Errorf("%w: Decimal without an integer scale parameter", errNoMapping)
		}
		return "DECIMAL(65," + scale + ")", nil
	}
	if t, ok := logicalSQLTypes[s.Name]; ok {
		return t, nil
	}
	if t, ok := sqlTypes[s.Type]; ok {
		return t, nil
	}
	return "", fmt.Errorf("%w: %s", errNoMapping, strings.ToUpper(string(s.Type)))
}

// The column types of sqlType: the logical types' by name, the others' by schema type.
var (
	logicalSQLTypes = map[string]string{
		envelope.DateName:      "DATE",
		envelope.TimeName:      "TIME(3)",
		envelope.TimestampName: "DATETIME(3)",
	}
	sqlTypes = map[envelope.Type]string{
		envelope.Int8:    "TINYINT",
		envelope.Int16:   "SMALLINT",
		envelope.Int32:   "INT",
		envelope.Int64:   "BIGINT",
		envelope.Float32: "FLOAT",
		envelope.Float64: "DOUBLE",
		envelope.Boolean: "TINYINT",
		envelope.String:  "TEXT",
		envelope.Bytes:   "VARBINARY(1024)",
	}
)

// literal formats a schema default as GenericDatabaseDialect.formatColumnValue does, with
// string literals escaped for the dialect (see quote).
func (w sqlWriter) literal(s *envelope.Schema, v any) (string, error) {
	switch x := v.(type) {
	case envelope.Decimal:
		return decimalString(x), nil
	case time.Time:
		switch s.Name {
		case envelope.DateName:
			return w.quoteString(x.UTC().Format("2006-01-02"))
		case envelope.TimeName:
			return w.quoteString(x.UTC().Format("15:04:05.000"))
		default:
			return w.quoteString(x.UTC().Format("2006-01-02 15:04:05.000"))
		}
	case int8:
		return strconv.FormatInt(int64(x), 10), nil
	case int16:
		return strconv.FormatInt(int64(x), 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float32:
		return floatLiteral(float64(x), 32)
	case float64:
		return floatLiteral(x, 64)
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case string:
		return w.quoteString(x)
	case []byte:
		return "x'" + hex.EncodeToString(x) + "'", nil
	}
	return "", fmt.Errorf("%w: default value of type %T", errNoMapping, v)
}

// floatLiteral writes a finite float; NaN and infinities have no SQL literal.
func floatLiteral(f float64, bits int) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%w: default %v has no SQL literal", errUnsafeDefault, f)
	}
	return strconv.FormatFloat(f, 'g', -1, bits), nil
}

// quoteString writes x as a string literal the dialect reads back as exactly x. A quote
// is doubled (read the same way with and without backslash escapes). For MySQL in its
// default sql_mode a backslash is doubled too and NUL written as \0; under
// NO_BACKSLASH_ESCAPES both stand for themselves. SQLite takes no escapes but ends a
// statement at NUL, so a NUL there is refused; so is text that is not UTF-8.
func (w sqlWriter) quoteString(x string) (string, error) {
	if !utf8.ValidString(x) {
		return "", fmt.Errorf("%w: string default is not valid UTF-8", errUnsafeDefault)
	}
	mysqlEscapes := w.dialect == db.MySQL && !w.noBackslashEscapes
	if strings.IndexByte(x, 0) >= 0 && w.dialect != db.MySQL {
		return "", fmt.Errorf("%w: string default %q contains NUL, which %s cannot take in a statement", errUnsafeDefault, x, w.dialect)
	}
	var b strings.Builder
	b.Grow(len(x) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(x); i++ {
		switch c := x[i]; {
		case c == '\'':
			b.WriteString("''")
		case c == '\\' && mysqlEscapes:
			b.WriteString(`\\`)
		case c == 0 && mysqlEscapes:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String(), nil
}

// decimalString writes unscaled × 10^-scale in plain notation.
func decimalString(d envelope.Decimal) string {
	if d.Unscaled == nil {
		return "0"
	}
	if d.Scale <= 0 {
		n := new(big.Int).Mul(d.Unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-d.Scale)), nil))
		return n.String()
	}
	s := new(big.Int).Abs(d.Unscaled).String()
	scale := int(d.Scale)
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	if d.Unscaled.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// bindValue converts a decoded Connect value to a database/sql argument, as
// PreparedStatementBinder binds it: Date as a DATE, Time as a TIME, Timestamp as a UTC
// DATETIME, Decimal exactly (as its decimal text), booleans as 1/0.
func bindValue(s *envelope.Schema, v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64, float64, bool, string, []byte:
		return x, nil
	case float32:
		return float64(x), nil
	case envelope.Decimal:
		return decimalString(x), nil
	case time.Time:
		switch s.Name {
		case envelope.DateName:
			return x.UTC().Format("2006-01-02"), nil
		case envelope.TimeName:
			return x.UTC().Format("15:04:05.000"), nil
		}
		return x.UTC(), nil
	}
	return nil, fmt.Errorf("%w: %s", errBind, strings.ToUpper(string(s.Type)))
}

// Errors of statement building; they surface wrapped in the sink's own errors.
var (
	errIdentifier    = errors.New("bad SQL identifier")
	errUnsafeDefault = errors.New("schema default cannot be written into DDL")
	errNoMapping     = errors.New("type doesn't have a mapping to the SQL database column type")
	errBind          = errors.New("unsupported source data type")
)
