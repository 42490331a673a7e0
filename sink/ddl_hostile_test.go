package sink

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/envelope"
)

// DDL that a producer cannot steer: schema defaults and names from the topic (and the
// table name from the config) reach CREATE / ALTER TABLE either exactly as declared or
// not at all, with a clear error; no other statement ever runs (a canary survives).

// hostileDefaults are string schema defaults that would end or alter a naively quoted
// literal.
var hostileDefaults = []string{
	`\'`,
	`\`,
	`\\`,
	`\0`,
	`'`,
	`''`,
	"'; DROP TABLE canary; --",
	`\'; DROP TABLE canary; --`,
	"`); DROP TABLE canary; --",
	"ü😀 — ünïcode",
	"line\nbreak\ttab\r\x1a",
	"a\x00b",
}

// ddlTargets are the databases of the DDL tests: MariaDB in its default sql_mode, MariaDB
// with NO_BACKSLASH_ESCAPES (where a backslash is an ordinary character), and SQLite.
var ddlTargets = []target{
	{db.MySQL, openMariaDB},
	{db.MySQL + "-no-backslash-escapes", openMariaDBNoBackslashEscapes},
	{db.SQLite, openSQLite},
}

func openMariaDBNoBackslashEscapes(t testing.TB) *db.DB {
	t.Helper()
	url := testkit.MariaDB(t, "sink").URL
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	d, err := db.Open(context.Background(), url+sep+"sql_mode=%27NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES%27", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	var mode string
	if err := d.SQL.QueryRow("SELECT @@SESSION.sql_mode").Scan(&mode); err != nil || !strings.Contains(mode, "NO_BACKSLASH_ESCAPES") {
		t.Fatalf("sql_mode %q (%v), want NO_BACKSLASH_ESCAPES", mode, err)
	}
	return d
}

func ddlTarget(t *testing.T, tg target) *db.DB {
	t.Helper()
	if testing.Short() && tg.name != db.SQLite {
		t.Skip("needs MariaDB; skipped with -short")
	}
	return tg.open(t)
}

// ddlSink is a sink for DDL tests (and fuzz targets): auto.create and auto.evolve on, its
// client never used.
func ddlSink(t testing.TB, d *db.DB, kv ...string) *Sink {
	t.Helper()
	return offlineSink(t, testConfig(t, "ddl", append([]string{"topics", "t", "pk.mode", "record_value", "pk.fields", "id",
		"auto.create", "true", "auto.evolve", "true"}, kv...)...), d)
}

// ddlCanary creates a table that a statement run from input would drop.
func ddlCanary(t *testing.T, d *db.DB) func() {
	t.Helper()
	name := unique("canary")
	if _, err := d.SQL.Exec("CREATE TABLE `" + name + "` (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	dropLater(t, d, name)
	return func() {
		t.Helper()
		if _, err := d.SQL.Exec("SELECT COUNT(*) FROM `" + name + "`"); err != nil {
			t.Errorf("canary table %s is gone (%v): input ran as SQL", name, err)
		}
	}
}

// quoteTest quotes a name for the tests' own statements.
func quoteTest(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// stringField is an optional string field with a default.
func stringField(name string, def any) envelope.Field {
	return envelope.Field{Name: name, Schema: &envelope.Schema{Type: envelope.String, Optional: true, Default: def}}
}

// readDefault inserts a row that leaves column col to its default and reads it back.
func readDefault(t *testing.T, d *db.DB, table, col string, id int64) (string, error) {
	t.Helper()
	if _, err := d.SQL.Exec("INSERT INTO "+quoteTest(table)+" (id) VALUES (?)", id); err != nil {
		return "", err
	}
	var v sql.NullString
	err := d.SQL.QueryRow("SELECT "+quoteTest(col)+" FROM "+quoteTest(table)+" WHERE id = ?", id).Scan(&v)
	if !v.Valid && err == nil {
		t.Errorf("column %s: NULL, want its default", col)
	}
	return v.String, err
}

// TestHostileDefaultsCreateAndEvolve: each hostile string default becomes exactly that
// column default, through CREATE TABLE and through ALTER TABLE; a default the dialect
// cannot take in a statement (NUL in SQLite) is refused with ErrTable, and nothing runs.
func TestHostileDefaultsCreateAndEvolve(t *testing.T) {
	for _, tg := range ddlTargets {
		t.Run(tg.name, func(t *testing.T) {
			d := ddlTarget(t, tg)
			alive := ddlCanary(t, d)
			defer alive()
			ctx := context.Background()
			for i, def := range hostileDefaults {
				refused := tg.name == db.SQLite && strings.ContainsRune(def, 0)
				table := unique("hostile_default")
				dropLater(t, d, table)
				s := ddlSink(t, d)
				id := envelope.Field{Name: "id", Schema: &envelope.Schema{Type: envelope.Int64}}
				v1 := &envelope.Schema{Type: envelope.StructType, Fields: []envelope.Field{id, stringField("created", def)}}
				v2 := &envelope.Schema{Type: envelope.StructType, Fields: append(append([]envelope.Field{}, v1.Fields...), stringField("evolved", def))}
				for step, schema := range []*envelope.Schema{v1, v2} {
					l, err := s.layout(tableID{name: table}, nil, schema)
					if err != nil {
						t.Fatal(err)
					}
					err = s.ensureTable(ctx, l)
					if refused {
						if !errors.Is(err, ErrTable) || !errors.Is(err, errUnsafeDefault) {
							t.Errorf("default %q: %v, want it refused (ErrTable)", def, err)
						}
						break
					}
					if err != nil {
						t.Fatalf("default %q (step %d): %v", def, step, err)
					}
				}
				if refused {
					continue
				}
				for j, col := range []string{"created", "evolved"} {
					got, err := readDefault(t, d, table, col, int64(10*i+j))
					if err != nil || got != def {
						t.Errorf("column %s: default %q (%v), want %q", col, got, err, def)
					}
				}
			}
		})
	}
}

// hostileNames are table and column names; empty want means the name is created
// exactly, otherwise the refusal's text.
var hostileNames = []struct {
	name           string
	mysql, sqlite  string // "" when created, else a part of the refusal
	unquotedRefuse bool
}{
	{"plain_name", "", "", false},
	{"x`y", "", "", true},
	{"``", "", "", true},
	{"a'); DROP TABLE canary; --", "", "", true},
	{`b\c`, "", "", true},
	{`\'`, "", "", true},
	{`"q"`, "", "", true},
	{"ünï", "", "", true},
	{"emoji😀", "outside the Basic Multilingual Plane", "", true},
	{strings.Repeat("n", 64), "", "", false},
	{strings.Repeat("n", 65), "at most 64", "", false},
	{strings.Repeat("ü", 65), "at most 64", "", true},
	{"trailing ", "ends with a space", "", true},
	{"nul\x00", "contains NUL", "contains NUL", true},
	{"", "is empty", "is empty", true},
}

// eachHostileName runs check for every hostile name on MariaDB and SQLite, with the
// refusal the dialect wants ("" for created exactly) and a canary table that a
// statement run from the name would drop.
func eachHostileName(t *testing.T, check func(t *testing.T, d *db.DB, name, want string)) {
	for _, tg := range []target{ddlTargets[0], ddlTargets[2]} {
		t.Run(tg.name, func(t *testing.T) {
			d := ddlTarget(t, tg)
			alive := ddlCanary(t, d)
			defer alive()
			for _, tt := range hostileNames {
				want := tt.mysql
				if tg.name == db.SQLite {
					want = tt.sqlite
				}
				check(t, d, tt.name, want)
			}
		})
	}
}

// TestHostileColumnNames: a column named by the schema is created under exactly that
// name, or the table is refused with ErrTable naming the reason; nothing runs as SQL.
func TestHostileColumnNames(t *testing.T) {
	eachHostileName(t, func(t *testing.T, d *db.DB, name, want string) {
		table := unique("hostile_col")
		dropLater(t, d, table)
		schema := &envelope.Schema{Type: envelope.StructType, Fields: []envelope.Field{
			{Name: "id", Schema: &envelope.Schema{Type: envelope.Int64}}, stringField(name, nil)}}
		err := createFor(t, ddlSink(t, d), table, schema)
		checkNameOutcome(t, d, name, want, err, table, name)
	})
}

// TestHostileTableNames: the same for the table name (table.name.format).
func TestHostileTableNames(t *testing.T) {
	eachHostileName(t, func(t *testing.T, d *db.DB, name, want string) {
		if strings.Contains(name, ".") {
			return // a dot separates the catalog
		}
		table := name
		if want == "" {
			table = name + "_" + unique("t")[2:]
			if len([]rune(table)) > 64 {
				table = string([]rune(table)[len([]rune(table))-64:])
			}
			t.Cleanup(func() { d.SQL.Exec("DROP TABLE IF EXISTS " + quoteTest(table)) })
		}
		schema := &envelope.Schema{Type: envelope.StructType, Fields: []envelope.Field{
			{Name: "id", Schema: &envelope.Schema{Type: envelope.Int64}}}}
		err := createFor(t, ddlSink(t, d), table, schema)
		checkNameOutcome(t, d, name, want, err, table, "id")
	})
}

// TestUnquotedNamesMustBePlain: with quote.sql.identifiers=never a name goes into SQL
// bare, so anything but a plain name is refused.
func TestUnquotedNamesMustBePlain(t *testing.T) {
	d := openSQLite(t)
	alive := ddlCanary(t, d)
	defer alive()
	for _, tt := range hostileNames {
		s := ddlSink(t, d, "quote.sql.identifiers", "never")
		table := unique("unquoted")
		dropLater(t, d, table)
		schema := &envelope.Schema{Type: envelope.StructType, Fields: []envelope.Field{
			{Name: "id", Schema: &envelope.Schema{Type: envelope.Int64}}, stringField(tt.name, nil)}}
		err := createFor(t, s, table, schema)
		if tt.unquotedRefuse != (err != nil) {
			t.Errorf("unquoted column %q: %v, want refused: %t", tt.name, err, tt.unquotedRefuse)
		}
		if err != nil && (!errors.Is(err, ErrTable) || !errors.Is(err, errIdentifier)) {
			t.Errorf("unquoted column %q: %v, want ErrTable and a bad identifier", tt.name, err)
		}
	}
}

// createFor runs the sink's auto.create for schema into table.
func createFor(t *testing.T, s *Sink, table string, schema *envelope.Schema) error {
	t.Helper()
	l, err := s.layout(tableID{name: table}, nil, schema)
	if err != nil {
		return err
	}
	return s.ensureTable(context.Background(), l)
}

// checkNameOutcome wants either the table holding column col (created exactly) or a
// refusal containing want.
func checkNameOutcome(t *testing.T, d *db.DB, name, want string, err error, table, col string) {
	t.Helper()
	if want != "" {
		if !errors.Is(err, ErrTable) || !errors.Is(err, errIdentifier) || !strings.Contains(err.Error(), want) {
			t.Errorf("name %q: %v, want it refused (ErrTable: %s)", name, err, want)
		}
		return
	}
	if err != nil {
		t.Errorf("name %q: %v, want it created exactly", name, err)
		return
	}
	cols := columnTypes(t, d, table)
	found := false
	for _, c := range cols {
		found = found || strings.HasPrefix(c, col+" ")
	}
	if !found {
		t.Errorf("name %q: table %q has columns %q, want one named exactly %q", name, table, cols, col)
	}
	if _, err := d.SQL.Exec("INSERT INTO " + quoteTest(table) + " (id) VALUES (1)"); err != nil {
		t.Errorf("name %q: insert into %q: %v", name, table, err)
	}
}

// TestHostileSchemasThroughTheSink: end to end from Kafka, with auto.create and
// auto.evolve: a record whose schema names a column no dialect can hold is
// dead-lettered with the reason and the sink goes on; the next one, whose defaults are
// hostile strings, creates its table with exactly those defaults; nothing runs as SQL.
func TestHostileSchemasThroughTheSink(t *testing.T) {
	eachTarget(t, func(t *testing.T, d *db.DB) {
		alive := ddlCanary(t, d)
		defer alive()
		topic, table, dlq := unique("hostile"), unique("hostile"), unique("hostile.dlq")
		dropLater(t, d, table)
		brokers := newCluster(t, 1, topic)
		id := envelope.Field{Name: "id", Schema: &envelope.Schema{Type: envelope.Int64}}
		bad := &envelope.Schema{Type: envelope.StructType, Fields: []envelope.Field{id, stringField("nul\x00", nil)}}
		good := &envelope.Schema{Type: envelope.StructType, Fields: []envelope.Field{id, stringField("a", `\'`), stringField("b", "'; DROP TABLE x; --")}}
		var recs []*kgo.Record
		for i, schema := range []*envelope.Schema{bad, good} {
			st := envelope.NewStruct(schema)
			if err := st.Set("id", int64(i)); err != nil {
				t.Fatal(err)
			}
			v, err := envelope.Encode(schema, st)
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, &kgo.Record{Topic: topic, Key: []byte{'k', byte('0' + i)}, Value: v})
		}
		produce(t, brokers, recs...)
		cfg := testConfig(t, "hostile-"+topic, "topics", topic, "table.name.format", table,
			"pk.mode", "record_value", "pk.fields", "id", "auto.create", "true", "auto.evolve", "true",
			"max.retries", "0", "errors.tolerance", "all", "errors.deadletterqueue.topic.name", dlq,
			"errors.deadletterqueue.context.headers.enable", "true")
		r := runRecords(t, cfg, d, brokers, 2)
		if st := r.Stats(); st.DeadLettered != 1 || st.Rows != 1 {
			t.Fatalf("stats %+v, want the NUL-named record dead-lettered and the other written", st)
		}
		h := headers(consumeAll(t, brokers, dlq, 1)[0])
		if h["__connect.errors.exception.class.name"] != tableException || !strings.Contains(h["__connect.errors.exception.message"], "contains NUL") {
			t.Errorf("dead letter headers %v, want a TableAlterOrCreateException naming the NUL", h)
		}
		for col, want := range map[string]string{"a": `\'`, "b": "'; DROP TABLE x; --"} {
			if got, err := readDefault(t, d, table, col, int64(100+len(want))); err != nil || got != want {
				t.Errorf("column %s: default %q (%v), want %q", col, got, err, want)
			}
		}
	})
}
