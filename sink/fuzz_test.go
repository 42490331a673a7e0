package sink

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/envelope"
)

// The fuzz targets run the sink's own functions with no network and no sleeps; the
// SQLite database is opened once per target, never per execution.

// fuzzSink is a sink on d for a fuzz target: quiet logs, a client that is never used.
func fuzzSink(f testing.TB, d *db.DB, kv ...string) *Sink {
	f.Helper()
	s := offlineSink(f, testConfig(f, "fuzz", append([]string{"topics", "t", "insert.mode", "upsert",
		"pk.mode", "record_value", "pk.fields", "id", "auto.create", "true", "auto.evolve", "true"}, kv...)...), d)
	s.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	return s
}

// memorySQLite is an in-memory SQLite database opened with the driver options of the
// default's file (db.SQLiteDSN: the same time format, so the same values written and
// read), kept for the whole run on its one connection.
func memorySQLite(tb testing.TB) *db.DB {
	tb.Helper()
	sqldb, err := sql.Open("sqlite", db.SQLiteDSN("fuzz")+"&mode=memory&cache=private")
	if err != nil {
		tb.Fatal(err)
	}
	sqldb.SetMaxOpenConns(1) // one connection: the one in-memory database
	tb.Cleanup(func() { sqldb.Close() })
	return &db.DB{SQL: sqldb, Dialect: db.SQLite, Where: ":memory:"}
}

var fuzzRowSchema = &envelope.Schema{Type: envelope.StructType, Name: "fuzz_row", Fields: []envelope.Field{
	{Name: "id", Schema: &envelope.Schema{Type: envelope.Int64}},
	{Name: "s", Schema: &envelope.Schema{Type: envelope.String, Optional: true}},
	{Name: "i32", Schema: &envelope.Schema{Type: envelope.Int32}},
	{Name: "i64", Schema: &envelope.Schema{Type: envelope.Int64}},
	{Name: "f64", Schema: &envelope.Schema{Type: envelope.Float64}},
	{Name: "ts", Schema: envelope.Timestamp(false)},
	{Name: "by", Schema: &envelope.Schema{Type: envelope.Bytes, Optional: true}},
}}

// DATETIME's range, the one MySQL gives auto.create's DATETIME(3): years 1000 to 9999.
var (
	minDatetime = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxDatetime = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
)

// FuzzRecordToSQLite sends fuzzed strings, numbers, timestamps and bytes through the
// record → SQL path (JsonConverter decoding, layout, bound values, the upsert statement,
// one transaction) into the SQLite default, and reads the row back: it must hold
// exactly what the converter decoded, and that is the input itself (bar invalid UTF-8,
// which a Java string cannot hold). The database is in memory, opened as the default's
// file is, and it, the table and the sink are made once: an execution costs only its
// own record (BenchmarkRecordToSQLite).
func FuzzRecordToSQLite(f *testing.F) {
	x := newRecordToSQLite(f)
	for _, in := range recordToSQLiteSeeds() {
		f.Add(in.id, in.str, in.i32, in.i64, in.f64, in.ms, in.by)
	}
	f.Fuzz(func(t *testing.T, id int64, str string, i32 int32, i64 int64, f64 float64, ms int64, by []byte) {
		x.check(t, fuzzRow{id, str, i32, i64, f64, ms, by})
	})
}

// BenchmarkRecordToSQLite runs FuzzRecordToSQLite's body over its seeds, to profile what
// one execution costs (go test -cpuprofile does not work with -fuzz).
func BenchmarkRecordToSQLite(b *testing.B) {
	x := newRecordToSQLite(b)
	seeds := recordToSQLiteSeeds()
	for i := 0; b.Loop(); i++ {
		x.check(b, seeds[i%len(seeds)])
	}
}

// fuzzRow is one input of FuzzRecordToSQLite.
type fuzzRow struct {
	id  int64
	str string
	i32 int32
	i64 int64
	f64 float64
	ms  int64
	by  []byte
}

func recordToSQLiteSeeds() []fuzzRow {
	var seeds []fuzzRow
	for i, str := range append(fuzzStrings(), "", "plain") {
		seeds = append(seeds, fuzzRow{int64(i), str, int32(i), int64(-i), float64(i) / 3, int64(1_700_000_000_000), []byte(str)})
	}
	return append(seeds,
		fuzzRow{int64(math.MinInt64), "\x00", int32(math.MinInt32), int64(math.MaxInt64), math.Copysign(0, -1), minDatetime, []byte{}},
		fuzzRow{int64(math.MaxInt64), "\xff\xfe", int32(math.MaxInt32), int64(math.MinInt64), 5e-324, maxDatetime, []byte(nil)},
		fuzzRow{int64(7), "'); DROP TABLE fuzz_rows; --", int32(0), int64(0), math.MaxFloat64, int64(-1), []byte{0, 0xff}})
}

// recordToSQLite is FuzzRecordToSQLite's database, table and sink, made once per run:
// an execution only writes its record and reads it back, and what it does depends on
// its input alone, not on the executions before it.
type recordToSQLite struct {
	s        *Sink
	clear    *sql.Stmt // empties the table
	before   *sql.Stmt // inserts a row of other values for an id
	readBack *sql.Stmt // the row of an id
}

// newRecordToSQLite has the sink create the table (auto.create) from a first record.
func newRecordToSQLite(tb testing.TB) *recordToSQLite {
	tb.Helper()
	d := memorySQLite(tb)
	x := &recordToSQLite{s: fuzzSink(tb, d, "table.name.format", "fuzz_rows")}
	r := x.record(tb, fuzzRow{str: "first", ms: 1_700_000_000_000, by: []byte("first")})
	if n, err := x.s.write(context.Background(), []*record{r}); err != nil || n != 1 {
		tb.Fatalf("write: %d rows, %v", n, err)
	}
	for _, p := range []struct {
		st *(*sql.Stmt)
		q  string
	}{
		{&x.clear, "DELETE FROM fuzz_rows"},
		{&x.before, "INSERT INTO fuzz_rows(id, s, i32, i64, f64, ts, `by`) VALUES(?, 'before', 1, 1, 1.5, '2000-01-01 00:00:00', x'00')"},
		{&x.readBack, "SELECT s, i32, i64, f64, ts, `by`, typeof(`by`) FROM fuzz_rows WHERE id = ?"},
	} {
		st, err := d.SQL.Prepare(p.q)
		if err != nil {
			tb.Fatal(err)
		}
		*p.st = st
	}
	return x
}

// record is in as the sink reads it: encoded with the JsonConverter envelope, then
// converted.
func (x *recordToSQLite) record(t testing.TB, in fuzzRow) *record {
	t.Helper()
	st := envelope.NewStruct(fuzzRowSchema)
	for _, kv := range []struct {
		k string
		v any
	}{{"id", in.id}, {"s", in.str}, {"i32", in.i32}, {"i64", in.i64}, {"f64", in.f64}, {"ts", time.UnixMilli(in.ms).UTC()}, {"by", in.by}} {
		if err := st.Set(kv.k, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	value, err := envelope.Encode(fuzzRowSchema, st)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	r, fail, err := x.s.convert(&kgo.Record{Topic: "t", Key: []byte("k"), Value: value})
	if err != nil || fail != nil {
		t.Fatalf("convert %s: %v %+v", value, err, fail)
	}
	return r
}

// check writes in through the sink and reads its row back: it must hold exactly what
// the converter decoded, and that is in itself. For an even id the table already has
// a row of other values with that id, which the upsert updates; for an odd id the
// table is empty and the upsert inserts.
func (x *recordToSQLite) check(t testing.TB, in fuzzRow) {
	t.Helper()
	id, str, i32, i64, f64, by := in.id, in.str, in.i32, in.i64, in.f64, in.by
	if math.IsNaN(f64) || math.IsInf(f64, 0) {
		return // JSON has no such number: the envelope writer refuses it
	}
	ms := minDatetime + int64(uint64(in.ms)%uint64(maxDatetime-minDatetime+1))
	in.ms = ms
	r := x.record(t, in)
	ctx := context.Background()
	if _, err := x.clear.ExecContext(ctx); err != nil {
		t.Fatal(err)
	}
	if id%2 == 0 {
		if _, err := x.before.ExecContext(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := x.s.write(ctx, []*record{r}); err != nil || n != 1 {
		t.Fatalf("write: %d rows, %v", n, err)
	}
	runtime.Gosched() // so that the transaction's own goroutine (database/sql's awaitDone) ends within this execution
	var (
		gotS               sql.NullString
		gotI32, gotI64     int64
		gotF64             float64
		gotTS              dbTime
		gotBy              []byte
		gotByType          string
		wantS              = strings.ToValidUTF8(str, "\uFFFD")
		decoded            = r.value.Values()
		wantBy             = by
		decodedS, _        = decoded[1].(string)
		decodedBy, isBytes = decoded[6].([]byte)
	)
	if err := x.readBack.QueryRowContext(ctx, id).Scan(&gotS, &gotI32, &gotI64, &gotF64, &gotTS, &gotBy, &gotByType); err != nil {
		t.Fatal(err)
	}
	if !utf8.ValidString(str) {
		wantS = decodedS // the U+FFFD the writer put in
	}
	if by == nil && !isBytes {
		wantBy = nil
	} else if !bytes.Equal(decodedBy, by) {
		t.Fatalf("converter decoded bytes %x, want %x", decodedBy, by)
	}
	if gotS.String != wantS || decodedS != wantS || gotI32 != int64(i32) || gotI64 != i64 || gotF64 != f64 ||
		gotTS.UnixMilli() != ms || !bytes.Equal(gotBy, wantBy) || (gotByType == "null") != (wantBy == nil) {
		t.Fatalf("row (%q, %d, %d, %v, %v, %x), want (%q, %d, %d, %v, %v, %x)",
			gotS.String, gotI32, gotI64, gotF64, gotTS.UTC(), gotBy, wantS, i32, i64, f64, time.UnixMilli(ms).UTC(), wantBy)
	}
}

func fuzzStrings() []string {
	return append(append([]string{}, hostileDefaults...), "ördér-😀", "%_*?[]{}$", `"; SELECT 1; --`)
}

// FuzzDDL builds CREATE and ALTER TABLE from a fuzzed table name, column name and string
// default for MySQL (in the default sql_mode and under NO_BACKSLASH_ESCAPES) and SQLite,
// and reads each statement back with a model of the dialect's lexer (sqlLex): every
// name comes back as one identifier token and the default as one string token, exactly
// as declared, in the statement's fixed shape, with no comment or other token, or the
// schema is refused with errIdentifier / errUnsafeDefault for a reason the dialect's
// rules give. The MariaDB and SQLite tests (TestHostileDefaultsCreateAndEvolve,
// TestHostileColumnNames) check the same statements against the real parsers.
func FuzzDDL(f *testing.F) {
	for _, h := range fuzzStrings() {
		f.Add("t_"+h, "c_"+h, h, true)
	}
	f.Add("x`y", "``", "`", true)
	f.Add("plain", "col", "'; DROP TABLE x; --", false)
	writers := []sqlWriter{{dialect: db.MySQL}, {dialect: db.MySQL, noBackslashEscapes: true}, {dialect: db.SQLite}}
	f.Fuzz(func(t *testing.T, table, col, def string, quote bool) {
		if col == "id" {
			return
		}
		id := envelope.Field{Name: "id", Schema: &envelope.Schema{Type: envelope.Int64}}
		schema := &envelope.Schema{Type: envelope.StructType, Fields: []envelope.Field{id, stringField(col, def)}}
		cfg := Config{PKMode: PKRecordValue, PKFields: []string{"id"}}
		for _, w := range writers {
			w.quote = quote
			refuse := refusal(w, table, col, def)
			l, err := newLayout(&cfg, w, tableID{name: table}, nil, schema)
			var stmts []string
			if err == nil {
				var create string
				if create, err = w.create(l); err == nil {
					var alter []string
					alter, err = w.alter(l.table, l.nonKey)
					stmts = append([]string{create}, alter...)
				}
			}
			if refuse != "" || err != nil {
				if refuse == "" || err == nil || !(errors.Is(err, errIdentifier) || errors.Is(err, errUnsafeDefault)) {
					t.Fatalf("%+v table %q column %q default %q: error %v, want refused: %q", w, table, col, def, err, refuse)
				}
				continue
			}
			name := func(n string) string {
				if quote {
					return "ident:" + n
				}
				return "word:" + n
			}
			want := [][]string{
				{"word:CREATE", "word:TABLE", name(table), "punct:(", name("id"), "word:BIGINT", "word:NOT", "word:NULL", "punct:,",
					name(col), "word:TEXT", "word:DEFAULT", "string:" + def, "punct:,", "word:PRIMARY", "word:KEY", "punct:(", name("id"), "punct:)", "punct:)"},
				{"word:ALTER", "word:TABLE", name(table), "word:ADD", name(col), "word:TEXT", "word:DEFAULT", "string:" + def},
			}
			for i, q := range stmts {
				got, err := sqlLex(w, q)
				if err != nil || !reflect.DeepEqual(got, want[i]) {
					t.Fatalf("%+v: statement %q reads as %q (%v), want %q", w, q, got, err, want[i])
				}
			}
		}
	})
}

// refusal is why the dialect of w cannot hold these names or this default ("" if it can).
func refusal(w sqlWriter, table, col, def string) string {
	for _, n := range []string{table, col} {
		switch {
		case n == "" || !utf8.ValidString(n) || strings.ContainsRune(n, 0):
			return "name empty, not UTF-8 or with NUL"
		case !w.quote && !plainIdent(n):
			return "unquoted name not plain"
		case w.dialect == db.MySQL && (utf8.RuneCountInString(n) > 64 || strings.HasSuffix(n, " ") || strings.ContainsFunc(n, func(r rune) bool { return r > 0xFFFF })):
			return "name MySQL cannot hold"
		}
	}
	if !utf8.ValidString(def) || (w.dialect == db.SQLite && strings.ContainsRune(def, 0)) {
		return "default not UTF-8, or NUL in SQLite"
	}
	return ""
}

// sqlLex is a model of the MySQL / SQLite lexers for the statements the sink writes: it
// returns ident:, string:, word: and punct: tokens, decoding quoted identifiers
// (backticks, a doubled backtick for one) and string literals (a doubled quote for
// one; for MySQL without NO_BACKSLASH_ESCAPES also backslash escapes), and refuses
// anything else: comments, other quotes, unterminated tokens.
func sqlLex(w sqlWriter, q string) ([]string, error) {
	var out []string
	backslash := w.dialect == db.MySQL && !w.noBackslashEscapes
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\n':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, "punct:"+string(c))
			i++
		case c == '`' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; ; j++ {
				if j >= len(q) {
					return out, errors.New("unterminated quote")
				}
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c {
						b.WriteByte(c)
						j++
						continue
					}
					break
				}
				if c == '\'' && backslash && q[j] == '\\' && j+1 < len(q) {
					j++
					b.WriteString(mysqlEscape(q[j]))
					continue
				}
				b.WriteByte(q[j])
			}
			kind := "ident:"
			if c == '\'' {
				kind = "string:"
			}
			out = append(out, kind+b.String())
			i = j + 1
		case c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			j := i
			for j < len(q) && (q[j] == '_' || q[j] == '$' || q[j] >= 'a' && q[j] <= 'z' || q[j] >= 'A' && q[j] <= 'Z' || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			out = append(out, "word:"+q[i:j])
			i = j
		default:
			return out, fmt.Errorf("unexpected %q at %d", c, i)
		}
	}
	return out, nil
}

// mysqlEscape is what MySQL reads for a backslash followed by c in a string literal.
func mysqlEscape(c byte) string {
	switch c {
	case '0':
		return "\x00"
	case 'b':
		return "\b"
	case 'n':
		return "\n"
	case 'r':
		return "\r"
	case 't':
		return "\t"
	case 'Z':
		return "\x1a"
	case '%', '_':
		return "\\" + string(c)
	}
	return string(c)
}

// FuzzParseConfig: any bytes give a config or an error, never a panic or a hang; a
// config that parses has what the sink relies on, and its settings parse again to the
// same config.
func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{
		`{"name":"orders-sink","config":{"connector.class":"io.confluent.connect.jdbc.JdbcSinkConnector","topics":"orders","value.converter":"org.apache.kafka.connect.json.JsonConverter","insert.mode":"upsert","pk.mode":"record_value","pk.fields":"order_id","batch.size":3000}}`,
		`{"name":"x","config":{"topics.regex":"(a|b)+","value.converter":"org.apache.kafka.connect.json.JsonConverter","pk.mode":"kafka","pk.fields":"a,b,c","errors.tolerance":"all","errors.deadletterqueue.topic.name":"dlq","delete.enabled":true}}`,
		`{"name":"x","config":{"topics":"a","errors.deadletterqueue.topic.name":"a","batch.size":-1,"retry.backoff.ms":1e99}}`,
		`{"name":"x","config":{"name":"y"}}`, `{"config":{}}`, `{}`, `[]`, `null`, ``, `{"name":"x","config":{"topics":"\u0000"}}`,
	} {
		f.Add([]byte(seed))
	}
	if data, err := os.ReadFile(filepath.Join("..", "connect", "orders-sink.json")); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrConfig) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v is neither ErrConfig nor ErrUnsupported", err)
			}
			return
		}
		if cfg.Name == "" || cfg.Group != "connect-"+cfg.Name || cfg.BatchSize < 1 || cfg.MaxRetries < 0 ||
			(len(cfg.Topics) == 0) == (cfg.TopicsRegex == "") || cfg.ValueConverter != JSONConverter || cfg.TableNameFormat == "" {
			t.Fatalf("ParseConfig(%q) = %+v: a config the sink cannot run", data, cfg)
		}
		again, err := json.Marshal(map[string]any{"name": cfg.Name, "config": cfg.Raw})
		if err != nil {
			t.Fatal(err)
		}
		cfg2, err := ParseConfig(again)
		if err != nil || !reflect.DeepEqual(cfg, cfg2) {
			t.Fatalf("ParseConfig(%q) = %+v, but its settings parse again to %+v, %v", data, cfg, cfg2, err)
		}
	})
}
