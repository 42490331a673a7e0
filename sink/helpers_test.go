package sink

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/db/migrations"
	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/order"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A target is a database the sink writes to; every behaviour test runs on both.
type target struct {
	name string
	open func(t testing.TB) *db.DB
}

var targets = []target{
	{db.MySQL, openMariaDB},
	{db.SQLite, openSQLite},
}

// eachTarget runs test as a subtest on every target, with a database of its own.
func eachTarget(t *testing.T, test func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) { test(t, tg.open(t)) })
	}
}

func openMariaDB(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), testkit.MariaDB(t, "sink").URL, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestMain(m *testing.M) { testkit.Main(m) }

func openSQLite(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// unique returns prefix_<random> for table and topic names no other test uses.
func unique(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// dropLater drops table when the test ends.
func dropLater(t testing.TB, d *db.DB, table string) {
	t.Cleanup(func() { d.SQL.Exec("DROP TABLE IF EXISTS `" + table + "`") })
}

// createOrdersTable creates table with db/migrations/0001_orders.sql, renamed.
func createOrdersTable(t testing.TB, d *db.DB, table string) {
	t.Helper()
	text, err := migrations.FS.ReadFile("0001_orders.sql")
	if err != nil {
		t.Fatal(err)
	}
	script := regexp.MustCompile(`\borders\b`).ReplaceAllString(string(text), table)
	script = strings.ReplaceAll(script, "orders_user_created", table+"_user_created")
	dropLater(t, d, table)
	for _, stmt := range db.Split(script) {
		if _, err := d.SQL.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// ordersTopic makes a fresh orders table on d and a cluster holding a fresh topic of
// partitions.
func ordersTopic(t testing.TB, d *db.DB, partitions int32) (topic, table string, brokers []string) {
	t.Helper()
	topic, table = unique("orders"), unique("orders")
	createOrdersTable(t, d, table)
	return topic, table, newCluster(t, partitions, topic)
}

// newCluster starts an in-process Kafka cluster with the given topics.
func newCluster(t testing.TB, partitions int32, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func produce(t testing.TB, brokers []string, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.MaxBufferedRecords(len(recs)+1))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// testConfig parses a connector config from key/value pairs on top of the JSON
// converter settings every test needs.
func testConfig(t testing.TB, name string, kv ...string) Config {
	t.Helper()
	raw := map[string]string{
		"connector.class":                ConnectorClass,
		"key.converter":                  StringConverter,
		"value.converter":                JSONConverter,
		"value.converter.schemas.enable": "true",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		raw[kv[i]] = kv[i+1]
	}
	cfg, err := newConfig(name, raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A running sink in a test.
type running struct {
	*Sink
	done   chan error // Run's result
	cancel context.CancelFunc
}

// start runs a sink for cfg until the test ends or stop is called.
func start(t testing.TB, cfg Config, d *db.DB, brokers []string, hook func() error) *running {
	t.Helper()
	s := newSink(t, cfg, d, brokers, kgo.FetchMaxWait(50*time.Millisecond))
	s.Progress = -1
	s.Logger = slog.New(slog.NewTextHandler(t.Output(), nil)) // shown with -v or on failure
	s.afterDBCommit = hook
	return runSink(t, s)
}

// runSink runs s in the background until the test ends or stop is called.
func runSink(t testing.TB, s *Sink) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Sink: s, done: make(chan error, 1), cancel: cancel}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and returns its error.
func (r *running) stop(t testing.TB) error {
	r.cancel()
	return r.wait(t)
}

// stopClean stops the sink; a Run error fails the test.
func (r *running) stopClean(t testing.TB) {
	t.Helper()
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
}

// runRecords runs a sink for cfg until it has handled n records and stops it; a Run
// error fails the test.
func runRecords(t testing.TB, cfg Config, d *db.DB, brokers []string, n int64) *running {
	t.Helper()
	r := start(t, cfg, d, brokers, nil)
	r.waitRecords(t, n)
	r.stopClean(t)
	return r
}

// wait waits for Run to return and returns its error (again on later calls).
func (r *running) wait(t testing.TB) error {
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(2 * time.Minute):
		t.Fatal("sink did not stop")
		return nil
	}
}

// waitRecords waits until the sink has handled n records; Run ending first fails the
// test.
func (r *running) waitRecords(t testing.TB, n int64) {
	t.Helper()
	r.until(t, fmt.Sprintf("%d records", n), func() bool { return r.Stats().Records >= n })
}

// until waits for cond, failing if the sink stops first. The deadline is a liveness
// bound against a hang, not a speed assertion.
func (r *running) until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("sink stopped before %s: %v (stats %+v)", what, err, r.Stats())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within the liveness bound (stats %+v)", what, r.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testOrder(i int) order.Order {
	qty := int32(i%9 + 1)
	return order.Order{
		OrderID:    fmt.Sprintf("00000000-0000-7000-8000-%012d", i),
		UserID:     fmt.Sprintf("user-%d", i%50),
		ProductID:  "CATALOG-0001",
		Qty:        qty,
		UnitPrice:  1200,
		TotalPrice: int64(qty) * 1200,
		Status:     order.Accepted,
		CreatedAt:  time.UnixMilli(1_700_000_000_000 + int64(i)).UTC(),
	}
}

// produceOrders produces orders 0 to n-1 (testOrder) to topic.
func produceOrders(t testing.TB, brokers []string, topic string, n int) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = orderRecord(t, topic, testOrder(i))
	}
	produce(t, brokers, recs...)
}

func orderRecord(t testing.TB, topic string, o order.Order) *kgo.Record {
	t.Helper()
	v, err := order.Codec.Encode(&o)
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: topic, Key: []byte(o.OrderID), Value: v}
}

// rowTexts runs query and returns each row as its columns' text joined by sep, NULL
// as "NULL".
func rowTexts(t testing.TB, d *db.DB, sep, query string, args ...any) []string {
	t.Helper()
	_, rows := testkit.QueryText(t, d.SQL, query, args...)
	out := make([]string, len(rows))
	for r, vals := range rows {
		texts := make([]string, len(vals))
		for i, v := range vals {
			texts[i] = "NULL"
			if v.Valid {
				texts[i] = v.String
			}
		}
		out[r] = strings.Join(texts, sep)
	}
	return out
}

// offlineSink is a sink for cfg on d whose Kafka client is never used: for tests of the
// sink's own functions without a broker.
func offlineSink(t testing.TB, cfg Config, d *db.DB) *Sink {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	s, err := New(cfg, d, cl)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func count(t testing.TB, d *db.DB, table string) int {
	t.Helper()
	var n int
	if err := d.SQL.QueryRow("SELECT COUNT(*) FROM `" + table + "`").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// dbTime scans a DATETIME column: a time.Time from MySQL, text from SQLite.
type dbTime struct{ time.Time }

func (d *dbTime) Scan(v any) (err error) {
	d.Time, err = db.ScanTime(v)
	return err
}
