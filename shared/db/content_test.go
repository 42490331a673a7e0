package db

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/testkit"
)

// orderColumns are the columns of orders and order_rejections in the record schema's
// order: the column list of the JDBC sink's statements.
var orderColumns = []string{"order_id", "user_id", "product_id", "qty", "unit_price", "total_price", "status", "created_at", "reason"}

// upsert is the statement a sink runs for rows rows of table, verbatim: for MySQL the
// Confluent JDBC sink's MySqlDatabaseDialect upsert (one row per statement, batched),
// for SQLite the local sink's multi-row form (sink/sql.go).
func upsert(dialect, table string, rows int) string {
	var cols, set []string
	for _, c := range orderColumns {
		cols = append(cols, "`"+c+"`")
		if c == "order_id" {
			continue
		}
		if dialect == MySQL {
			set = append(set, "`"+c+"`=values(`"+c+"`)")
		} else {
			set = append(set, "`"+c+"`=excluded.`"+c+"`")
		}
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	if dialect == MySQL {
		return "insert into `" + table + "`(" + strings.Join(cols, ",") + ") values" + row +
			" on duplicate key update " + strings.Join(set, ",")
	}
	return "INSERT INTO `" + table + "`(" + strings.Join(cols, ",") + ") VALUES" +
		strings.TrimSuffix(strings.Repeat(row+",", rows), ",") +
		" ON CONFLICT(`order_id`) DO UPDATE SET " + strings.Join(set, ",")
}

type storedOrder struct {
	id, user, product string
	qty               int
	unit, total       int64
	status            string
	createdAt         time.Time
	reason            sql.NullString
}

func (o storedOrder) args() []any {
	return []any{o.id, o.user, o.product, o.qty, o.unit, o.total, o.status, o.createdAt, o.reason}
}

// write runs the sink's statement for orders, in one transaction as both sinks do.
func write(t *testing.T, sqldb *sql.DB, dialect, table string, orders ...storedOrder) {
	t.Helper()
	tx, err := sqldb.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if dialect == MySQL {
		for _, o := range orders {
			if _, err := tx.Exec(upsert(dialect, table, 1), o.args()...); err != nil {
				t.Fatalf("upsert: %v", err)
			}
		}
	} else {
		var args []any
		for _, o := range orders {
			args = append(args, o.args()...)
		}
		if _, err := tx.Exec(upsert(dialect, table, len(orders)), args...); err != nil {
			t.Fatalf("upsert: %v", err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, sqldb *sql.DB, table, id string) storedOrder {
	t.Helper()
	o := storedOrder{id: id}
	var created any
	err := sqldb.QueryRow("SELECT user_id, product_id, qty, unit_price, total_price, status, created_at, reason FROM `"+table+"` WHERE order_id = ?", id).
		Scan(&o.user, &o.product, &o.qty, &o.unit, &o.total, &o.status, &created, &o.reason)
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	switch c := created.(type) {
	case time.Time:
		o.createdAt = c.UTC()
	case string: // SQLite's text format, as _time_format=sqlite writes it
		tm, err := time.Parse("2006-01-02 15:04:05.999999999-07:00", c)
		if err != nil {
			t.Fatalf("created_at: %v", err)
		}
		o.createdAt = tm.UTC()
	default:
		t.Fatalf("created_at is %T %v", created, created)
	}
	return o
}

// TestStoredOrderContentNeverChanges: once stored, an order's content and created_at
// never change, whatever the sink's upsert writes over it (the Confluent JDBC sink's
// statement on MariaDB, run verbatim; the local sink's multi-row statement on SQLite),
// in both tables. A replay, with the same body or another one, changes nothing, status
// and reason included; a write that carries the stored content and created_at may change
// status and reason; other orders in the same statement are written.
func TestStoredOrderContentNeverChanges(t *testing.T) {
	for _, dialect := range []string{MySQL, SQLite} {
		t.Run(dialect, func(t *testing.T) {
			var sqldb *sql.DB
			if dialect == MySQL {
				testkit.Long(t, "needs MariaDB")
				sqldb = freshMariaDB(t)
			} else {
				// As Open opens it for the sink: times as SQLite's own text format.
				var err error
				sqldb, err = sql.Open("sqlite", SQLiteDSN(filepath.Join(t.TempDir(), SQLiteFile)))
				if err != nil {
					t.Fatal(err)
				}
				sqldb.SetMaxOpenConns(1)
				t.Cleanup(func() { sqldb.Close() })
			}
			if err := Apply(t.Context(), sqldb, dialect); err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"orders", "order_rejections"} {
				t.Run(table, func(t *testing.T) { checkContentKept(t, sqldb, dialect, table) })
			}
		})
	}
}

func checkContentKept(t *testing.T, sqldb *sql.DB, dialect, table string) {
	at := time.Date(2026, 11, 22, 9, 30, 0, 123e6, time.UTC)
	first := storedOrder{"0193a1b2-0000-5000-8000-000000000001", "user-42", "CATALOG-0001", 5, 1200, 6000,
		"REJECTED", at, sql.NullString{String: "unknown product", Valid: true}}
	other := storedOrder{"0193a1b2-0000-5000-8000-000000000002", "user-7", "CATALOG-0002", 1, 10, 10, "REJECTED", at, sql.NullString{}}
	write(t, sqldb, dialect, table, first)

	replay := first // same Idempotency-Key, same body, a later created_at
	replay.createdAt = at.Add(time.Minute)
	replay.status, replay.reason = "ACCEPTED", sql.NullString{}
	otherBody := first // same key, another body
	otherBody.product, otherBody.qty, otherBody.unit, otherBody.total = "CATALOG-0009", 2, 999, 1998
	otherBody.createdAt = at.Add(2 * time.Minute)
	otherBody.reason = sql.NullString{String: "qty over the limit", Valid: true}
	sameContent := first // same content and created_at: only status and reason may change
	sameContent.user = first.user
	sameContent.status, sameContent.reason = "ACCEPTED", sql.NullString{String: "re-checked", Valid: true}

	steps := []struct {
		name   string
		writes []storedOrder
		want   storedOrder
	}{
		{"replay with the same body", []storedOrder{replay}, first},
		{"replay with another body, batched with another order", []storedOrder{otherBody, other}, first},
		{"content as stored, new status and reason", []storedOrder{sameContent}, sameContent},
		{"replay after that", []storedOrder{otherBody}, sameContent},
	}
	for _, s := range steps {
		write(t, sqldb, dialect, table, s.writes...)
		if got := read(t, sqldb, table, first.id); fmt.Sprint(got) != fmt.Sprint(s.want) {
			t.Errorf("%s: row\n got %v\nwant %v", s.name, got, s.want)
		}
	}
	if got := read(t, sqldb, table, other.id); fmt.Sprint(got) != fmt.Sprint(other) {
		t.Errorf("the other order of the batch: row\n got %v\nwant %v", got, other)
	}
}
