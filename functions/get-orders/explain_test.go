package main

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/testkit"
)

// explain returns MariaDB's plan of query as one map per row (table, key, Extra...).
func explain(t *testing.T, sqldb *sql.DB, query string, args ...any) []map[string]string {
	t.Helper()
	cols, rows := testkit.QueryText(t, sqldb, "EXPLAIN "+query, args...)
	var plan []map[string]string
	for _, vals := range rows {
		m := map[string]string{}
		for i, c := range cols {
			m[c] = vals[i].String
		}
		plan = append(plan, m)
	}
	return plan
}

// TestQueriesUseTheirIndexes: with many users' orders in both tables, MariaDB answers a
// page from each table's (user_id, created_at, order_id) index, in index order (no
// filesort of the table), checks the other table by primary key, and reads one order by
// primary key.
func TestQueriesUseTheirIndexes(t *testing.T) {
	sqldb := freshMariaDB(t)
	for u := range 20 {
		seed(t, sqldb, "u-"+string(rune('a'+u)), 20, t0.Add(time.Duration(u)*time.Minute))
	}
	var acc, rej string
	if err := sqldb.QueryRow("SELECT (SELECT MIN(order_id) FROM orders WHERE user_id = 'u-t'), (SELECT MIN(order_id) FROM order_rejections WHERE user_id = 'u-t')").Scan(&acc, &rej); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"orders", "order_rejections"} {
		if _, err := sqldb.Exec("ANALYZE TABLE " + table); err != nil {
			t.Fatal(err)
		}
	}
	cursor := t0.Add(19*time.Minute + 5*time.Second)
	listPlan := explain(t, sqldb, listSQL, "u-t", cursor, cursor, "8", 21, "u-t", cursor, cursor, "8", 21, 21)
	oneAccPlan := explain(t, sqldb, oneSQL, acc, "u-t", acc, "u-t")
	oneRejPlan := explain(t, sqldb, oneSQL, rej, "u-t", rej, "u-t")
	for _, tc := range []struct {
		name  string
		plan  []map[string]string
		table string
		key   string
	}{
		{"list, accepted side", listPlan, "o", "orders_user_created_id"},
		{"list, rejected side", listPlan, "r", "order_rejections_user_created_id"},
		{"one accepted order", oneAccPlan, "o", "PRIMARY"},
		{"one rejected order", oneRejPlan, "r", "PRIMARY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hits []map[string]string
			for _, row := range tc.plan {
				if row["table"] == tc.table && row["key"] == tc.key {
					hits = append(hits, row)
				}
			}
			if len(hits) == 0 {
				t.Fatalf("no step reads %s by %s:\n%v", tc.table, tc.key, tc.plan)
			}
			for _, row := range tc.plan {
				if row["table"] == tc.table && row["type"] == "ALL" {
					t.Fatalf("%s is scanned whole:\n%v", tc.table, tc.plan)
				}
				if row["table"] == tc.table && strings.Contains(row["Extra"], "filesort") {
					t.Fatalf("%s is sorted, not read in index order:\n%v", tc.table, tc.plan)
				}
			}
		})
	}
	t.Logf("list plan: %v", listPlan)
}
