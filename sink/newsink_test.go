package sink

import (
	"context"
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/kafka"
)

// newSink builds a sink the way the CLI and the stack do, with Open (and opts on its
// client).
func newSink(t testing.TB, cfg Config, d *db.DB, brokers []string, opts ...kgo.Opt) *Sink {
	t.Helper()
	return newSinkVia(t, kafka.Config{Brokers: brokers}, cfg, d, opts...)
}

// newSinkVia is newSink with a client for kcfg (brokers and authentication).
func newSinkVia(t testing.TB, kcfg kafka.Config, cfg Config, d *db.DB, opts ...kgo.Opt) *Sink {
	t.Helper()
	s, err := Open(context.Background(), cfg, d, kcfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewRefusesMissingDependencies(t *testing.T) {
	cfg := testConfig(t, "deps", "topics", "t")
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := New(cfg, nil, cl); err == nil {
		t.Error("New without a database: no error")
	}
	if _, err := New(cfg, &db.DB{}, cl); err == nil {
		t.Error("New with an unopened database: no error")
	}
	if _, err := New(cfg, openSQLite(t), nil); err == nil {
		t.Error("New without a client: no error")
	}
}

// The sink reaches a broker in any KAFKA_AUTH mode shared/kafka builds: here SCRAM, on a
// kfake cluster that requires it.
func TestSinkThroughSCRAM(t *testing.T) {
	const user, pass = "sink-user", "sink-secret"
	topic, table := unique("orders"), unique("orders")
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", user, pass))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kcfg := kafka.Config{Brokers: c.ListenAddrs(), Auth: kafka.AuthSCRAM, Username: user, Password: pass}
	ctx := context.Background()
	producer, err := kafka.NewClient(ctx, kcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	if err := producer.ProduceSync(ctx, orderRecord(t, topic, testOrder(1))).FirstErr(); err != nil {
		t.Fatal(err)
	}
	d := openSQLite(t)
	createOrdersTable(t, d, table)
	cfg := ordersConfig(t, topic, table)
	s := newSinkVia(t, kcfg, cfg, d)
	s.Progress = -1
	s.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	r := runSink(t, s)
	r.waitRecords(t, 1)
	r.stopClean(t)
	if n := count(t, d, table); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}
