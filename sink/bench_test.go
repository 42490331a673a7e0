package sink

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/db/migrations"
	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/order"
)

// benchRows is how many orders one iteration of BenchmarkMariaDB writes.
const benchRows = 100_000

// BenchmarkMariaDB writes 100,000 orders into a fresh copy of the orders table per
// iteration. "sink" is the real sink with the production connector config
// (connect/orders-sink.json: upsert, batch.size 3000), consuming from an in-process
// kfake cluster that already holds the records; its time includes the consumer group
// join, the fetches, decoding every envelope and the offset commits. "database-sql" is
// the baseline: the same rows as Go values, written with plain database/sql multi-row
// upserts of the same batch size, one transaction per batch.
func BenchmarkMariaDB(b *testing.B) {
	d := benchMariaDB(b)
	cfgJSON := benchConnectorConfig(b)
	orders := make([]order.Order, benchRows)
	values := make([][]byte, benchRows)
	for i := range orders {
		orders[i] = benchOrder(i)
		v, err := order.Codec.Encode(&orders[i])
		if err != nil {
			b.Fatal(err)
		}
		values[i] = v
	}

	b.Run("sink", func(b *testing.B) {
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		brokers := c.ListenAddrs()
		for b.Loop() {
			b.StopTimer()
			topic, table := benchName("orders"), benchName("orders")
			benchTable(b, d, table)
			benchProduce(b, brokers, topic, orders, values)
			cfg := benchConfig(b, cfgJSON, topic, table)
			s := newSink(b, cfg, d, brokers)
			s.Progress = -1
			s.Logger = slog.New(logging.NewJSONHandler(io.Discard, nil)) // as `ordersync sink` logs
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			b.StartTimer()

			go func() { done <- s.Run(ctx) }()
			for s.Stats().Records < benchRows {
				select {
				case err := <-done:
					b.Fatalf("sink stopped after %d records: %v", s.Stats().Records, err)
				case <-time.After(time.Millisecond):
				}
			}

			b.StopTimer()
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			st := s.Stats()
			if n := benchCount(b, d, table); n != benchRows || st.Rows != benchRows {
				b.Fatalf("%d rows in the table, %d written, want %d", n, st.Rows, benchRows)
			}
			b.ReportMetric(float64(st.Batches), "batches")
			benchDrop(d, table)
			b.StartTimer()
		}
		b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
	})

	b.Run("database-sql", func(b *testing.B) {
		cfg := benchConfig(b, cfgJSON, "unused", "unused")
		per := cfg.BatchSize
		for b.Loop() {
			b.StopTimer()
			table := benchName("orders")
			benchTable(b, d, table)
			b.StartTimer()

			ctx := context.Background()
			args := make([]any, 0, per*9)
			for start := 0; start < len(orders); start += per {
				chunk := orders[start:min(start+per, len(orders))]
				args = args[:0]
				for i := range chunk {
					o := &chunk[i]
					var reason any
					if o.Reason != "" {
						reason = o.Reason
					}
					args = append(args, o.OrderID, o.UserID, o.ProductID, o.Qty, o.UnitPrice, o.TotalPrice,
						string(o.Status), o.CreatedAt, reason)
				}
				tx, err := d.SQL.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, benchUpsert(table, len(chunk)), args...); err != nil {
					tx.Rollback()
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}

			b.StopTimer()
			if n := benchCount(b, d, table); n != benchRows {
				b.Fatalf("%d rows, want %d", n, benchRows)
			}
			benchDrop(d, table)
			b.StartTimer()
		}
		b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
	})
}

// benchMariaDB opens the MariaDB the tests use, or skips (fails in CI) without one.
func benchMariaDB(b *testing.B) *db.DB {
	d, err := db.Open(context.Background(), testkit.MariaDB(b, "sink_bench").URL, "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// benchConnectorConfig reads the connector config production registers.
func benchConnectorConfig(b *testing.B) map[string]any {
	data, err := os.ReadFile(filepath.Join("..", "connect", "orders-sink.json"))
	if err != nil {
		b.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		b.Fatal(err)
	}
	return body
}

// benchConfig is the production connector config, reading topic into table.
func benchConfig(b *testing.B, body map[string]any, topic, table string) Config {
	config := map[string]any{}
	for k, v := range body["config"].(map[string]any) {
		config[k] = v
	}
	config["topics"] = topic
	config["table.name.format"] = table
	data, err := json.Marshal(map[string]any{"name": "bench-" + topic, "config": config})
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

func benchName(prefix string) string {
	s := make([]byte, 5)
	rand.Read(s)
	return prefix + "_bench_" + hex.EncodeToString(s)
}

// benchOrder is testOrder(i) among 500 users and 1000 products.
func benchOrder(i int) order.Order {
	o := testOrder(i)
	o.UserID = "user-" + strconv.Itoa(i%500)
	o.ProductID = fmt.Sprintf("CATALOG-%04d", i%1000)
	o.CreatedAt = time.UnixMilli(1_795_000_000_000 + int64(i)).UTC()
	return o
}

// benchTable creates table with db/migrations/0001_orders.sql, renamed.
func benchTable(b *testing.B, d *db.DB, table string) {
	text, err := migrations.FS.ReadFile("0001_orders.sql")
	if err != nil {
		b.Fatal(err)
	}
	script := regexp.MustCompile(`\borders\b`).ReplaceAllString(string(text), table)
	script = strings.ReplaceAll(script, "orders_user_created", table+"_user_created")
	b.Cleanup(func() { benchDrop(d, table) })
	for _, stmt := range db.Split(script) {
		if _, err := d.SQL.Exec(stmt); err != nil {
			b.Fatalf("%s: %v", stmt, err)
		}
	}
}

func benchDrop(d *db.DB, table string) { d.SQL.Exec("DROP TABLE IF EXISTS `" + table + "`") }

func benchCount(b *testing.B, d *db.DB, table string) int {
	var n int
	if err := d.SQL.QueryRow("SELECT COUNT(*) FROM `" + table + "`").Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// benchProduce puts the orders on a new three-partition topic, keyed by order id.
func benchProduce(b *testing.B, brokers []string, topic string, orders []order.Order, values [][]byte) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(len(orders)+1))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	recs := make([]*kgo.Record, len(orders))
	for i := range orders {
		recs[i] = &kgo.Record{Key: []byte(orders[i].OrderID), Value: values[i]}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
}

// benchUpsert is the baseline's statement: INSERT … VALUES (…),(…) ON DUPLICATE KEY
// UPDATE of every non-key column, as a hand-written upsert would be.
func benchUpsert(table string, rows int) string {
	cols := []string{"order_id", "user_id", "product_id", "qty", "unit_price", "total_price", "status", "created_at", "reason"}
	var q strings.Builder
	q.WriteString("INSERT INTO `" + table + "` (" + strings.Join(cols, ",") + ") VALUES ")
	row := "(" + strings.Repeat("?,", len(cols)-1) + "?)"
	for i := range rows {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(row)
	}
	q.WriteString(" ON DUPLICATE KEY UPDATE ")
	for i, c := range cols[1:] {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(c + "=VALUES(" + c + ")")
	}
	return q.String()
}
