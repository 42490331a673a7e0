package sink

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/db"

	"github.com/ordersync/ordersync/shared/order"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const benchOrders = 100_000

// BenchmarkSQLite measures rows/s into the embedded SQLite file for 100,000 orders: the
// sink (consume from an in-process broker, decode, upsert in batch.size transactions,
// commit offsets) against database/sql alone writing the same rows with the same
// statements. BenchmarkMariaDB is the same for MariaDB.
func BenchmarkSQLite(b *testing.B) { benchTarget(b, openSQLite) }

func benchTarget(b *testing.B, open func(testing.TB) *db.DB) {
	d := open(b)
	orders := make([]order.Order, benchOrders)
	for i := range orders {
		orders[i] = testOrder(i)
	}
	b.Run("database-sql", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			table := unique("bench_orders")
			createOrdersTable(b, d, table)
			b.StartTimer()
			writeDirect(b, d, table, orders, 3000)
		}
		b.ReportMetric(float64(benchOrders*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("sink", func(b *testing.B) {
		brokers := newCluster(b, 3)
		var busy time.Duration
		var batches int64
		for b.Loop() {
			b.StopTimer()
			topic, table := unique("bench_orders"), unique("bench_orders")
			createOrdersTable(b, d, table)
			createTopic(b, brokers, topic, 3)
			recs := make([]*kgo.Record, len(orders))
			for i := range orders {
				recs[i] = orderRecord(b, topic, orders[i])
			}
			produce(b, brokers, recs...)
			began := time.Now()
			b.StartTimer()
			r := start(b, ordersConfig(b, topic, table), d, brokers, nil)
			r.waitRecords(b, benchOrders)
			b.StopTimer()
			busy += time.Since(began)
			batches += r.Stats().Batches
			if err := r.stop(b); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(benchOrders*b.N)/busy.Seconds(), "rows/s")
		b.ReportMetric(float64(batches)/float64(b.N), "batches/op")
	})
}

// writeDirect is the baseline: the sink's own multi-row upsert, straight through
// database/sql, batch rows per transaction.
func writeDirect(b *testing.B, d *db.DB, table string, orders []order.Order, batch int) {
	cols := "order_id,user_id,product_id,qty,unit_price,total_price,status,created_at,reason"
	tail := " ON DUPLICATE KEY UPDATE user_id=VALUES(user_id),product_id=VALUES(product_id),qty=VALUES(qty),unit_price=VALUES(unit_price),total_price=VALUES(total_price),status=VALUES(status),created_at=VALUES(created_at),reason=VALUES(reason)"
	if d.Dialect == db.SQLite {
		tail = " ON CONFLICT(order_id) DO UPDATE SET user_id=excluded.user_id,product_id=excluded.product_id,qty=excluded.qty,unit_price=excluded.unit_price,total_price=excluded.total_price,status=excluded.status,created_at=excluded.created_at,reason=excluded.reason"
	}
	ctx := context.Background()
	args := make([]any, 0, batch*9)
	for start := 0; start < len(orders); start += batch {
		chunk := orders[start:min(start+batch, len(orders))]
		q := "INSERT INTO `" + table + "`(" + cols + ") VALUES" + strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?),", len(chunk)), ",") + tail
		args = args[:0]
		for _, o := range chunk {
			var reason any
			if o.Reason != "" {
				reason = o.Reason
			}
			args = append(args, o.OrderID, o.UserID, o.ProductID, int64(o.Qty), o.UnitPrice, o.TotalPrice, string(o.Status), o.CreatedAt, reason)
		}
		tx, err := d.SQL.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

func createTopic(b testing.TB, brokers []string, topic string, partitions int32) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), partitions, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
}
