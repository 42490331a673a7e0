package sink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/envelope"
)

func (s *Sink) layout(t tableID, keySchema, valueSchema *envelope.Schema) (*layout, error) {
	var b strings.Builder
	b.WriteString(t.String())
	b.WriteByte(0)
	schemaKey(&b, keySchema)
	b.WriteByte(0)
	schemaKey(&b, valueSchema)
	k := b.String()
	if l, ok := s.layouts[k]; ok {
		return l, nil
	}
	l, err := newLayout(&s.cfg, s.w, t, keySchema, valueSchema)
	if err != nil {
		return nil, err
	}
	switch s.cfg.InsertMode {
	case Upsert:
		if len(l.keys) == 0 {
			return nil, fmt.Errorf("%w: write to table %s in UPSERT mode requires key field names to be known, check the primary key configuration", ErrRecord, t)
		}
	case Update:
		if len(l.keys) == 0 || len(l.nonKey) == 0 {
			return nil, fmt.Errorf("%w: write to table %s in UPDATE mode requires key and non-key fields", ErrRecord, t)
		}
	}
	if s.cfg.DeleteEnabled && len(l.keys) == 0 {
		return nil, fmt.Errorf("%w: delete to table %s requires key field names to be known", ErrRecord, t)
	}
	for _, c := range l.insertCols {
		if c.schema.Type == envelope.Array || c.schema.Type == envelope.Map || c.schema.Type == envelope.StructType {
			return nil, fmt.Errorf("%w: column %s of table %s: unsupported source data type %s", ErrRecord, c.name, t, strings.ToUpper(string(c.schema.Type)))
		}
	}
	if len(s.layouts) > 256 {
		clear(s.layouts)
		clear(s.texts)
	}
	s.layouts[k] = l
	return l, nil
}

// columns reads a table's columns (lower-case name → name); nil when it is missing.
func (s *Sink) columns(ctx context.Context, t tableID) (map[string]string, error) {
	if cols, ok := s.tables[t]; ok {
		return cols, nil
	}
	var (
		rows *sql.Rows
		err  error
	)
	if s.store.Dialect == db.MySQL {
		rows, err = s.store.SQL.QueryContext(ctx, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ?", t.catalog, t.name)
	} else {
		rows, err = s.store.SQL.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", t.name)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read columns of %s: %w", ErrWrite, t, err)
	}
	defer rows.Close()
	cols := map[string]string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("%w: read columns of %s: %w", ErrWrite, t, err)
		}
		cols[strings.ToLower(n)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: read columns of %s: %w", ErrWrite, t, err)
	}
	if len(cols) == 0 {
		return nil, nil
	}
	s.tables[t] = cols
	return cols, nil
}

// ensureTable is DbStructure.createOrAmendIfNecessary.
func (s *Sink) ensureTable(ctx context.Context, l *layout) error {
	cols, err := s.columns(ctx, l.table)
	if err != nil {
		return err
	}
	if cols == nil {
		if !s.cfg.AutoCreate {
			return fmt.Errorf("%w: table %s is missing and auto-creation is disabled (apply db/migrations: ordersync migrate)", ErrTable, l.table)
		}
		if err := s.create(ctx, l); err != nil {
			// Someone else may have created it meanwhile: then amend it.
			delete(s.tables, l.table)
			if again, rerr := s.columns(ctx, l.table); rerr != nil || again == nil {
				return err
			}
		} else {
			s.log().Info("table created", slog.String("connector", s.cfg.Name), slog.String("table", l.table.String()))
		}
		delete(s.tables, l.table)
		if cols, err = s.columns(ctx, l.table); err != nil {
			return err
		}
		if cols == nil {
			return fmt.Errorf("%w: table %s still missing after CREATE TABLE", ErrWrite, l.table)
		}
	}
	var missing []*column
	for _, c := range l.all {
		if _, ok := cols[strings.ToLower(c.name)]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, len(missing))
	for i, c := range missing {
		names[i] = c.name
	}
	if !s.cfg.AutoEvolve {
		return fmt.Errorf("%w: table %s is missing fields %v and auto-evolution is disabled", ErrTable, l.table, names)
	}
	for _, c := range missing {
		if !c.optional && c.schema.Default == nil {
			return fmt.Errorf("%w: cannot ALTER TABLE %s to add missing field %s, as the field is not optional and does not have a default value", ErrTable, l.table, c.name)
		}
	}
	if l.mapErr != nil {
		return l.mapErr
	}
	err = s.ddl(ctx, func(w sqlWriter) ([]string, error) { return w.alter(l.table, missing) }, func(err error) error {
		delete(s.tables, l.table)
		return fmt.Errorf("%w: amend table %s: %w", ErrWrite, l.table, err)
	})
	if err != nil {
		return err
	}
	s.log().Info("table altered", slog.String("connector", s.cfg.Name), slog.String("table", l.table.String()), slog.Any("added", names))
	delete(s.tables, l.table)
	return nil
}

// errTextKey is the hint for MySQL's "BLOB/TEXT column used in key specification".
const textKeyHint = "auto.create maps a string key to TEXT, which MySQL/MariaDB cannot use in a PRIMARY KEY without a key length (kafka-connect-jdbc issue #996, the real connector fails the same way); create the table first: ordersync migrate (db/migrations)"

func (s *Sink) create(ctx context.Context, l *layout) error {
	if l.mapErr != nil {
		return l.mapErr
	}
	var textKeys []string
	for _, c := range l.all {
		if c.key && c.sqlType == "TEXT" {
			textKeys = append(textKeys, c.name)
		}
	}
	if len(textKeys) > 0 && s.store.Dialect == db.SQLite {
		// SQLite could index TEXT, but the table would then work here and fail in
		// production: refuse it the way MySQL does.
		return fmt.Errorf("%w: create table %s: string primary key column(s) %v: %s", ErrWrite, l.table, textKeys, textKeyHint)
	}
	build := func(w sqlWriter) ([]string, error) {
		q, err := w.create(l)
		return []string{q}, err
	}
	return s.ddl(ctx, build, func(err error) error {
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == 1170 {
			return fmt.Errorf("%w: create table %s: %w: %s", ErrWrite, l.table, err, textKeyHint)
		}
		return fmt.Errorf("%w: create table %s: %w", ErrWrite, l.table, err)
	})
}

// ddl builds DDL statements and runs them on one connection. For MySQL it first reads
// that connection's sql_mode, so that a string default is escaped exactly the way the
// connection will parse it: with backslash escapes in MariaDB's default mode, without
// under NO_BACKSLASH_ESCAPES. Reading the mode, rather than setting it for the DDL,
// changes no connection state, so nothing leaks into the pooled connection the writes use
// next, and it works on any server whatever its configured mode (Aurora MySQL
// included). A statement that cannot be built safely (an identifier or default the
// dialect cannot hold) is a TableAlterOrCreateException (ErrTable: no retry, the record
// is reported); a type without a mapping is the connector's ConnectException
// (ErrRecord); a failed statement is passed to failed.
func (s *Sink) ddl(ctx context.Context, build func(sqlWriter) ([]string, error), failed func(error) error) error {
	conn, err := s.store.SQL.Conn(ctx)
	if err != nil {
		return failed(err)
	}
	defer conn.Close()
	w := s.w
	if s.store.Dialect == db.MySQL {
		var mode string
		if err := conn.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode").Scan(&mode); err != nil {
			return failed(fmt.Errorf("read sql_mode: %w", err))
		}
		w.noBackslashEscapes = slices.Contains(strings.Split(strings.ToUpper(mode), ","), "NO_BACKSLASH_ESCAPES")
	}
	stmts, err := build(w)
	switch {
	case errors.Is(err, errNoMapping):
		return fmt.Errorf("%w: %w", ErrRecord, err)
	case err != nil:
		return fmt.Errorf("%w: %w", ErrTable, err)
	}
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return failed(err)
		}
	}
	return nil
}
