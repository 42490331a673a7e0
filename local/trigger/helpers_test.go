package trigger_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/local/trigger"
)

// produceIn starts a cluster with a topic "in" of two partitions and produces recs to
// it, each to its own Partition. It returns the brokers' addresses; the cluster is
// closed when t ends.
func produceIn(t *testing.T, recs ...*kgo.Record) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "in"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("in"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for _, r := range recs {
		if err := prod.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	return c.ListenAddrs()
}

// start runs tr until the returned stop is called; stop fails t if Run returned an error.
func start(t *testing.T, tr *trigger.Trigger) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- tr.Run(ctx) }()
	return func() {
		t.Helper()
		cancel()
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
	}
}

// committed returns the offsets group has committed on brokers.
func committed(t *testing.T, brokers []string, group string) kadm.OffsetResponses {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	offs, err := kadm.NewClient(cl).FetchOffsets(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	return offs
}
