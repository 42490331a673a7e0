package sink

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/envelope"
)

// Hostile input reaching the sink: SQL metacharacters, backticks, quotes and unicode in
// every string value, in field (column) names and in the table name. Values are bound
// parameters and land verbatim; names are quoted identifiers, so no input ever runs as
// SQL (a canary table survives), and a value the table cannot hold goes to the dead
// letter queue without stopping the sink.

// hostileStrings are stored verbatim in VARCHAR(64) columns.
var hostileStrings = []string{
	"x'); DROP TABLE canary; --",
	"`orders`; DELETE FROM `orders`",
	`"; SELECT SLEEP(10); --`,
	`\'\\' OR '1'='1`,
	"ördér-😀-ü",
	"%_*?[]{}$",
	"line\nbreak\ttab",
	"\u0000nul",
}

func canary(t *testing.T, admin *sql.DB) string {
	t.Helper()
	name := unique("canary")
	if _, err := admin.Exec("CREATE TABLE `" + name + "` (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP TABLE IF EXISTS `" + name + "`") })
	return name
}

func canaryAlive(t *testing.T, admin *sql.DB, name string) {
	t.Helper()
	var n int
	if err := admin.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", name).Scan(&n); err != nil || n != 1 {
		t.Errorf("canary table %s is gone (%d, %v): input ran as SQL", name, n, err)
	}
}

// TestSinkHostileValues: hostile strings in user_id and product_id, and a product id
// too long for its column. The hostile rows round-trip byte for byte; the too-long one
// is dead-lettered with its reason; every other order has its row.
func TestSinkHostileValues(t *testing.T) {
	r := newSinkRig(t, 0, 1, "max.retries", "1", "retry.backoff.ms", "10")
	can := canary(t, r.admin)
	var recs []*kgo.Record
	want := map[string][2]string{}
	for i, s := range hostileStrings {
		o := faultOrder(i)
		o.UserID, o.ProductID = s, s
		if len(s) > 64 {
			t.Fatalf("hostile string %q is longer than the column", s)
		}
		recs = append(recs, orderRecord(t, r.topic, o))
		want[o.OrderID] = [2]string{s, s}
	}
	long := faultOrder(100)
	long.ProductID = strings.Repeat("P", 65)
	after := faultOrder(101)
	recs = append(recs, orderRecord(t, r.topic, long), orderRecord(t, r.topic, after))
	want[after.OrderID] = [2]string{after.UserID, after.ProductID}
	produce(t, r.brokers, recs...)

	rs := r.start(t, faultsMariaURL)
	rs.until(t, "every record", func() bool { return rs.Stats().Records == int64(len(recs)) })
	st := rs.Stats()
	if st.DeadLettered != 1 {
		t.Errorf("stats %+v: want exactly the too-long product id dead-lettered", st)
	}
	rows, err := r.admin.Query("SELECT order_id, user_id, product_id FROM `" + r.table + "`")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string][2]string{}
	for rows.Next() {
		var id, u, p string
		if err := rows.Scan(&id, &u, &p); err != nil {
			t.Fatal(err)
		}
		got[id] = [2]string{u, p}
	}
	if len(got) != len(want) {
		t.Errorf("%d rows, want %d", len(got), len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("order %s: row %q, want %q", id, got[id], w)
		}
	}
	dlq := consumeAll(t, r.brokers, r.topic+".dlq", 1)
	if string(dlq[0].Key) != long.OrderID || !strings.Contains(headers(dlq[0])["__connect.errors.exception.message"], "product_id") {
		t.Errorf("dead letter %q with headers %v; want the long order, naming product_id", dlq[0].Key, dlq[0].Headers)
	}
	canaryAlive(t, r.admin, can)
}

// TestSinkHostileNames: a table name, and field (column) names, made of SQL and
// backticks, with auto.create and auto.evolve on. Either the table and columns are
// created under exactly those names, or the records are reported to the dead letter
// queue and the sink carries on; nothing runs as SQL.
func TestSinkHostileNames(t *testing.T) {
	admin := mariaAdmin(t).SQL
	can := canary(t, admin)
	tests := []struct {
		name   string
		table  string
		fields []string
	}{
		{"table name", "t`" + unique("x") + "'); DROP TABLE " + can + "; --", []string{"id", "v"}},
		{"table name without backticks", "t " + unique("x") + "'); DROP TABLE " + can + "; --", []string{"id", "v"}},
		{"field names", unique("hostile_cols"), []string{"id", "x`y", "a'); DROP TABLE " + can + "; --", "ü😀"}},
		{"field names without backticks", unique("hostile_cols"), []string{"id", "a'); DROP TABLE " + can + "; --", "ü", `b\c`, "\"q\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sinkHostileNames(t, admin, can, tt.table, tt.fields)
		})
	}
}

// sinkHostileNames runs one case of TestSinkHostileNames.
func sinkHostileNames(t *testing.T, admin *sql.DB, can, table string, fields []string) {
	topic := unique("hostile")
	quoted := "`" + strings.ReplaceAll(table, "`", "``") + "`"
	t.Cleanup(func() { admin.Exec("DROP TABLE IF EXISTS " + quoted) })
	brokers := newCluster(t, 1, topic)

	schema := &envelope.Schema{Type: envelope.StructType, Name: "hostile"}
	for _, f := range fields {
		typ := envelope.String
		if f == "id" {
			typ = envelope.Int64
		}
		schema.Fields = append(schema.Fields, envelope.Field{Name: f, Schema: &envelope.Schema{Type: typ}})
	}
	var recs []*kgo.Record
	for i := range 3 {
		st := envelope.NewStruct(schema)
		for _, f := range fields {
			var v any = "v-" + f
			if f == "id" {
				v = int64(i)
			}
			if err := st.Set(f, v); err != nil {
				t.Fatal(err)
			}
		}
		v, err := envelope.Encode(schema, st)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: topic, Value: v})
	}
	produce(t, brokers, recs...)
	cfgJSON := fmt.Sprintf(`{"name": %q, "config": {"connector.class": %q, "topics": %q,
		"key.converter": %q, "value.converter": %q, "value.converter.schemas.enable": "true",
		"insert.mode": "insert", "pk.mode": "none", "table.name.format": %q,
		"auto.create": "true", "auto.evolve": "true", "max.retries": "1", "retry.backoff.ms": "10",
		"errors.tolerance": "all", "errors.log.enable": "true", "errors.deadletterqueue.topic.name": %q}}`,
		unique("hostile-sink"), ConnectorClass, topic, StringConverter, JSONConverter, table, topic+".dlq")
	cfg, err := ParseConfig([]byte(cfgJSON))
	if err != nil {
		t.Logf("config refused: %v", err)
		canaryAlive(t, admin, can)
		return
	}
	r := &sinkRig{admin: admin, topic: topic, brokers: brokers, cfg: cfg, n: len(recs)}
	rs := r.start(t, faultsMariaURL)
	rs.until(t, "every record", func() bool { return rs.Stats().Records == int64(len(recs)) })
	st := rs.Stats()
	canaryAlive(t, admin, can)
	if st.DeadLettered == int64(len(recs)) {
		t.Logf("reported, not written: %+v", st)
		return
	}
	if st.DeadLettered != 0 || st.Rows != int64(len(recs)) {
		t.Errorf("stats %+v: want every record written or every record reported", st)
	}
	cols := map[string]bool{}
	rows, err := admin.Query("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		cols[n] = true
	}
	for _, f := range fields {
		if !cols[f] {
			t.Errorf("table %q has columns %v, want one named exactly %q", table, cols, f)
		}
	}
	var n int
	if err := admin.QueryRow("SELECT COUNT(*) FROM " + quoted).Scan(&n); err != nil || n != len(recs) {
		t.Errorf("%d rows (%v), want %d", n, err, len(recs))
	}
	t.Logf("written under the exact names: %+v", st)
}
