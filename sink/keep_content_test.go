package sink

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/db/migrations"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/order"
)

// keepContent adds db/migrations/0003_keep_order_content (d's dialect's file) to a table
// made by createOrdersTable, renamed to it.
func keepContent(t *testing.T, d *db.DB, table string) {
	t.Helper()
	text, err := migrations.FS.ReadFile("0003_keep_order_content." + d.Dialect + ".sql")
	if err != nil {
		t.Fatal(err)
	}
	script := strings.ReplaceAll(string(text), "orders_keep_content", table+"_keep_content")
	script = regexp.MustCompile(`\borders\b`).ReplaceAllString(script, table)
	for _, stmt := range splitOwn(script, table) {
		if _, err := d.SQL.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// splitOwn returns the statements of script that concern table only.
func splitOwn(script, table string) []string {
	var out []string
	for _, stmt := range db.Split(script) {
		if strings.Contains(stmt, table) && !strings.Contains(stmt, "order_rejections") {
			out = append(out, stmt)
		}
	}
	return out
}

// TestReplayKeepsTheStoredOrder: with the migrations' trigger, a replay of an
// Idempotency-Key (same order id, later created_at, another body) written by this sink,
// in the same batch or a later one, leaves the stored order as it was, on MariaDB and
// SQLite; a redelivery of the stored record still applies.
func TestReplayKeepsTheStoredOrder(t *testing.T) {
	eachTarget(t, func(t *testing.T, d *db.DB) {
		topic, table := unique("orders"), unique("orders")
		createOrdersTable(t, d, table)
		keepContent(t, d, table)
		brokers := newCluster(t, 1, topic)

		first := testOrder(1)
		replay := first
		replay.ProductID, replay.Qty, replay.TotalPrice = "CATALOG-0009", 9, 9*first.UnitPrice
		replay.CreatedAt = first.CreatedAt.Add(time.Minute)
		replay.Status, replay.Reason = order.Rejected, "other body"
		produce(t, brokers, orderRecord(t, topic, first), orderRecord(t, topic, replay))

		r := start(t, ordersConfig(t, topic, table), d, brokers, nil)
		r.waitRecords(t, 2)
		produce(t, brokers, orderRecord(t, topic, first), orderRecord(t, topic, replay))
		r.waitRecords(t, 4)
		r.stopClean(t)
		var (
			prod, status string
			qty          int
			total        int64
			createdAt    dbTime
		)
		err := d.SQL.QueryRow("SELECT product_id, qty, total_price, status, created_at FROM `"+table+"` WHERE order_id = ?", first.OrderID).
			Scan(&prod, &qty, &total, &status, &createdAt)
		if err != nil {
			t.Fatal(err)
		}
		if prod != first.ProductID || qty != int(first.Qty) || total != first.TotalPrice || status != string(first.Status) ||
			!createdAt.Time.Equal(first.CreatedAt) {
			t.Errorf("row = %s %d %d %s %v, want the first order %s %d %d %s %v", prod, qty, total, status, createdAt.Time,
				first.ProductID, first.Qty, first.TotalPrice, first.Status, first.CreatedAt)
		}
	})
}
