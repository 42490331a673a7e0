package sink

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/kafka"
)

// newSink builds a sink the way the CLI and the stack do: a client from shared/kafka
// with ClientOpts (plus opts), handed to New.
func newSink(t testing.TB, cfg Config, d *db.DB, brokers []string, opts ...kgo.Opt) *Sink {
	t.Helper()
	cl, err := kafka.NewClient(context.Background(), kafka.Config{Brokers: brokers}, append(ClientOpts(cfg), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, d, cl)
	if err != nil {
		cl.Close()
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
