package sink

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ordersConfig is connect/orders-sink.json's write settings for topic → table.
func ordersConfig(t testing.TB, topic, table string, kv ...string) Config {
	return testConfig(t, "orders-sink-"+topic, append([]string{
		"topics", topic, "table.name.format", table,
		"insert.mode", "upsert", "pk.mode", "record_value", "pk.fields", "order_id",
		"retry.backoff.ms", "10",
	}, kv...)...)
}

func TestUpsertTwiceKeepsOneRowWithNewerValues(t *testing.T) {
	eachTarget(t, func(t *testing.T, d *db.DB) {
		topic, table, brokers := ordersTopic(t, d, 1)

		first := testOrder(1)
		first.Status = order.Pending
		second := first
		second.Qty, second.TotalPrice, second.Status = 7, 7*first.UnitPrice, order.Accepted
		second.Reason = "manual review passed"
		produce(t, brokers, orderRecord(t, topic, first), orderRecord(t, topic, second))

		r := start(t, ordersConfig(t, topic, table), d, brokers, nil)
		r.waitRecords(t, 2)
		// And once more in a later batch: a redelivery changes nothing.
		produce(t, brokers, orderRecord(t, topic, second))
		r.waitRecords(t, 3)
		r.stopClean(t)

		if n := count(t, d, table); n != 1 {
			t.Fatalf("%d rows, want 1", n)
		}
		var (
			qty            int
			total          int64
			status         string
			reason         *string
			createdAt      dbTime
			userID, prodID string
		)
		err := d.SQL.QueryRow("SELECT user_id, product_id, qty, total_price, status, reason, created_at FROM `"+table+"` WHERE order_id = ?", first.OrderID).
			Scan(&userID, &prodID, &qty, &total, &status, &reason, &createdAt)
		if err != nil {
			t.Fatal(err)
		}
		if qty != 7 || total != 8400 || status != "ACCEPTED" || reason == nil || *reason != second.Reason ||
			userID != first.UserID || prodID != first.ProductID || !createdAt.Time.Equal(first.CreatedAt) {
			t.Fatalf("row = %s %s %d %d %s %v %v, want the second record's values", userID, prodID, qty, total, status, reason, createdAt)
		}
	})
}

func TestBatchOf10000(t *testing.T) {
	const n = 10000
	eachTarget(t, func(t *testing.T, d *db.DB) {
		topic, table, brokers := ordersTopic(t, d, 3)
		produceOrders(t, brokers, topic, n)

		began := time.Now()
		r := start(t, ordersConfig(t, topic, table), d, brokers, nil)
		r.waitRecords(t, n)
		took := time.Since(began)
		r.stopClean(t)
		if got := count(t, d, table); got != n {
			t.Fatalf("%d rows, want %d", got, n)
		}
		var sum int64
		if err := d.SQL.QueryRow("SELECT SUM(total_price) FROM `" + table + "`").Scan(&sum); err != nil {
			t.Fatal(err)
		}
		var want int64
		for i := range n {
			o := testOrder(i)
			want += o.TotalPrice
		}
		if sum != want {
			t.Fatalf("SUM(total_price) = %d, want %d", sum, want)
		}
		st := r.Stats()
		t.Logf("%s: %d records in %d batches, %v (%.0f rows/s including consumer start-up)", d.Dialect, st.Records, st.Batches, took.Round(time.Millisecond), float64(n)/took.Seconds())
	})
}

func TestBadRecordGoesToDLQAndNextOnesLand(t *testing.T) {
	eachTarget(t, func(t *testing.T, d *db.DB) {
		topic, table, brokers := ordersTopic(t, d, 1)
		dlq := unique("orders.sink.dlq")

		good1, good2 := orderRecord(t, topic, testOrder(1)), orderRecord(t, topic, testOrder(2))
		// JsonConverter would read "qty": "5" as 0; the local sink refuses it.
		badValue := strings.Replace(string(orderRecord(t, topic, testOrder(3)).Value), `"qty":4`, `"qty":"4"`, 1)
		if !strings.Contains(badValue, `"qty":"4"`) {
			t.Fatalf("test record not altered: %s", badValue)
		}
		bad := &kgo.Record{Topic: topic, Key: []byte("bad-key"), Value: []byte(badValue),
			Headers: []kgo.RecordHeader{{Key: order.HeaderEvent, Value: []byte("OrderAccepted")}}}
		notJSON := &kgo.Record{Topic: topic, Key: []byte("junk"), Value: []byte("{not json")}
		produce(t, brokers, good1, bad, notJSON, good2)

		cfg := ordersConfig(t, topic, table,
			"errors.tolerance", "all",
			"errors.deadletterqueue.topic.name", dlq,
			"errors.deadletterqueue.context.headers.enable", "true")
		r := runRecords(t, cfg, d, brokers, 4)
		if got := count(t, d, table); got != 2 {
			t.Fatalf("%d rows, want the 2 good ones", got)
		}
		if st := r.Stats(); st.DeadLettered != 2 {
			t.Fatalf("dead-lettered %d, want 2", st.DeadLettered)
		}

		dead := consumeAll(t, brokers, dlq, 2)
		got := dead[0]
		if string(got.Key) != "bad-key" || string(got.Value) != badValue {
			t.Fatalf("DLQ record key/value = %q / %q, want the original bytes", got.Key, got.Value)
		}
		h := headers(got)
		want := map[string]string{
			order.HeaderEvent:                       "OrderAccepted",
			"__connect.errors.topic":                topic,
			"__connect.errors.partition":            "0",
			"__connect.errors.offset":               "1",
			"__connect.errors.connector.name":       cfg.Name,
			"__connect.errors.task.id":              "0",
			"__connect.errors.stage":                "VALUE_CONVERTER",
			"__connect.errors.class.name":           "org.apache.kafka.connect.json.JsonConverter",
			"__connect.errors.exception.class.name": "org.apache.kafka.connect.errors.DataException",
		}
		for k, v := range want {
			if h[k] != v {
				t.Errorf("header %s = %q, want %q", k, h[k], v)
			}
		}
		if msg := h["__connect.errors.exception.message"]; !strings.Contains(msg, "payload.qty") {
			t.Errorf("exception message %q does not name payload.qty", msg)
		}
		if h2 := headers(dead[1]); h2["__connect.errors.offset"] != "2" || h2["__connect.errors.stage"] != "VALUE_CONVERTER" {
			t.Errorf("second DLQ record headers = %v", h2)
		}
	})
}

func TestBadRecordWithoutToleranceStops(t *testing.T) {
	d := openSQLite(t)
	topic, table, brokers := ordersTopic(t, d, 1)
	produce(t, brokers, orderRecord(t, topic, testOrder(1)), &kgo.Record{Topic: topic, Value: []byte(`{"schema":{"type":"string"},"payload":5}`)})
	r := start(t, ordersConfig(t, topic, table), d, brokers, nil)
	err := r.wait(t)
	if !errors.Is(err, ErrTolerance) || !errors.Is(err, ErrConverter) || !strings.Contains(err.Error(), "VALUE_CONVERTER") {
		t.Fatalf("Run = %v, want a tolerance error for the converter stage", err)
	}
	if got := count(t, d, table); got != 0 {
		t.Fatalf("%d rows written from a batch that failed", got)
	}
}

func TestTombstoneWithoutDeleteStopsEvenWithToleranceAll(t *testing.T) {
	d := openSQLite(t)
	topic, table, brokers := ordersTopic(t, d, 1)
	produce(t, brokers, &kgo.Record{Topic: topic, Key: []byte("k")})
	r := start(t, ordersConfig(t, topic, table, "errors.tolerance", "all", "errors.deadletterqueue.topic.name", unique("dlq")), d, brokers, nil)
	err := r.wait(t)
	if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), "tombstone") {
		t.Fatalf("Run = %v, want a record error about the tombstone", err)
	}
}

// A crash after the database commit and before the offset commit replays the batch;
// upsert by order_id keeps every order exactly once.
func TestCrashBetweenDBCommitAndOffsetCommit(t *testing.T) {
	const n = 1000
	eachTarget(t, func(t *testing.T, d *db.DB) {
		topic, table, brokers := ordersTopic(t, d, 2)
		produceOrders(t, brokers, topic, n)
		cfg := ordersConfig(t, topic, table, "batch.size", "300")

		crash := errors.New("crash after the database commit")
		commits := 0
		first := start(t, cfg, d, brokers, func() error {
			if commits++; commits == 2 {
				return crash
			}
			return nil
		})
		if err := first.wait(t); !errors.Is(err, crash) {
			t.Fatalf("first run = %v, want the crash", err)
		}
		committed := first.Stats().Records
		written := count(t, d, table)
		if int64(written) <= committed {
			t.Fatalf("%d rows after the crash, want more than the %d records whose offsets were committed", written, committed)
		}

		second := start(t, cfg, d, brokers, nil)
		second.waitRecords(t, n-committed)
		second.stopClean(t)
		if replayed := second.Stats().Records - (n - int64(written)); replayed <= 0 {
			t.Fatalf("restart handled %d records; the crashed batch was not replayed", second.Stats().Records)
		}
		var rows, distinct int
		if err := d.SQL.QueryRow("SELECT COUNT(*), COUNT(DISTINCT order_id) FROM `"+table+"`").Scan(&rows, &distinct); err != nil {
			t.Fatal(err)
		}
		if rows != n || distinct != n {
			t.Fatalf("%d rows, %d distinct orders, want %d of each", rows, distinct, n)
		}
	})
}

func consumeAll(t testing.TB, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records from %s", len(out), n, topic)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

func headers(r *kgo.Record) map[string]string {
	h := map[string]string{}
	for _, x := range r.Headers {
		h[x.Key] = string(x.Value)
	}
	return h
}

func TestProgressLine(t *testing.T) {
	d := openSQLite(t)
	topic, table, brokers := ordersTopic(t, d, 1)
	produceOrders(t, brokers, topic, 2000)
	var out testkit.Buffer
	s := newSink(t, ordersConfig(t, topic, table, "batch.size", "100"), d, brokers)
	s.Logger = slog.New(slog.NewTextHandler(&out, nil))
	s.Progress = 10 * time.Millisecond
	batches := 0
	s.afterDBCommit = func() error {
		// Hold the batches after the first until a progress line has been written.
		for batches++; batches > 1 && !strings.Contains(out.String(), "sink progress"); {
			time.Sleep(5 * time.Millisecond)
		}
		return nil
	}
	r := runSink(t, s)
	r.waitRecords(t, 2000)
	r.stopClean(t)
	line := out.String()
	for _, want := range []string{"msg=\"sink progress\"", "records_per_s=", "lag=", "connector=" + s.Config().Name} {
		if !strings.Contains(line, want) {
			t.Fatalf("log %q lacks %q", line, want)
		}
	}
}

// Cancelling Run mid-batch still writes and commits that batch: a restart goes on from
// the next record.
func TestShutdownFinishesTheBatchInFlight(t *testing.T) {
	d := openSQLite(t)
	topic, table, brokers := ordersTopic(t, d, 1)
	produceOrders(t, brokers, topic, 500)
	cfg := ordersConfig(t, topic, table, "batch.size", "200")
	var r *running
	ready := make(chan struct{})
	r = start(t, cfg, d, brokers, func() error {
		<-ready
		r.cancel() // shut down while the batch is in flight
		return nil
	})
	close(ready)
	if err := r.wait(t); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	first := r.Stats()
	if first.Batches != 1 || first.Records == 0 {
		t.Fatalf("first run %+v, want exactly the batch in flight committed", first)
	}
	again := start(t, cfg, d, brokers, nil)
	again.waitRecords(t, 500-first.Records)
	again.stopClean(t)
	if got := again.Stats().Records; got != 500-first.Records {
		t.Fatalf("restart handled %d records, want %d (nothing replayed)", got, 500-first.Records)
	}
	if n := count(t, d, table); n != 500 {
		t.Fatalf("%d rows, want 500", n)
	}
}
