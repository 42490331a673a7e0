package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/logging"
)

// testTopics are the pipeline's topics in every test of this package.
var testTopics = kafka.Topics{
	Submitted: "orders.submitted",
	Orders:    "orders",
	Rejected:  "orders.rejected",
	DLQ:       "orders.dlq",
}

// discardLog is the log of a handler whose lines no test reads.
var discardLog = slog.New(logging.NewJSONHandler(io.Discard, nil))

// newCluster starts an in-process Kafka cluster, one broker unless opts say otherwise,
// holding the pipeline's topics with the given number of partitions each. It is closed
// when t ends.
func newCluster(t testing.TB, partitions int32, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	seed := kfake.SeedTopics(partitions, testTopics.Submitted, testTopics.Orders, testTopics.Rejected, testTopics.DLQ)
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), seed}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// newClient returns a client of addrs with the production settings, closed when t ends.
func newClient(t testing.TB, addrs []string) *kgo.Client {
	t.Helper()
	cl, err := kafka.NewClient(context.Background(), kafka.Config{Brokers: addrs, Auth: kafka.AuthNone, Topics: testTopics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// newHandler returns a handler producing to c with the production client settings; its
// log goes to the test's with -v.
func newHandler(t testing.TB, c *kfake.Cluster, catalog Catalog) *Handler {
	t.Helper()
	log := discardLog
	if testing.Verbose() {
		log = slog.New(logging.NewJSONHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return &Handler{Producer: newClient(t, c.ListenAddrs()), Topics: testTopics, Catalog: catalog, Log: log, MaxProduceWait: 30 * time.Second}
}

type testWriter struct{ t testing.TB }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// taker is a producer that keeps what it was given: a recorder or a testkit.MemProducer.
type taker interface{ Take() []*kgo.Record }

// handleOne hands h a one-record event and returns the result and the one output record
// rec was given, failing t unless there is exactly one.
func handleOne(t testing.TB, h *Handler, rec taker, ev events.KafkaEvent) (Result, *kgo.Record) {
	t.Helper()
	res, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	out := rec.Take()
	if len(out) != 1 || res.Records != 1 || res.Accepted+res.Rejected+res.DeadLettered != 1 {
		t.Fatalf("%d outputs, result %+v; want exactly one", len(out), res)
	}
	return res, out[0]
}
