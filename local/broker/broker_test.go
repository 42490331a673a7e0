package broker_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/local/broker"
)

func TestRestartKeepsRecordsAndOffsets(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "kafka")
	cfg := broker.Config{Addr: "127.0.0.1:0", DataDir: dir, Partitions: 2, Topics: pipelineTopics, Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	b, err := broker.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic("orders"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte("kept")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range pipelineTopics {
		td, ok := topics[want]
		if !ok {
			t.Errorf("topic %s missing", want)
		} else if len(td.Partitions) != 2 {
			t.Errorf("topic %s has %d partitions, want 2", want, len(td.Partitions))
		}
	}
	cl.Close()
	b.Close()

	b, err = broker.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer b.Close()
	cl, err = kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fs := cl.PollFetches(ctx)
	if err := fs.Err(); err != nil {
		t.Fatal(err)
	}
	var values []string
	fs.EachRecord(func(r *kgo.Record) { values = append(values, string(r.Value)) })
	if !slices.Equal(values, []string{"kept"}) {
		t.Errorf("after restart read %q, want [kept]", values)
	}
}

func TestAdvertise(t *testing.T) {
	ctx := context.Background()
	// Find a free port, then let the broker listen on it on all interfaces.
	_, port, _ := net.SplitHostPort(testkit.FreeAddr(t))
	b, err := broker.Start(ctx, broker.Config{Addr: "127.0.0.1:" + port, Advertise: "host.docker.internal:19092", Partitions: 1, Topics: []string{"t"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := b.Addrs(); !slices.Equal(got, []string{"host.docker.internal:19092"}) {
		t.Errorf("advertised %v", got)
	}
	// What a client in a container would see: metadata naming the advertised address.
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:" + port))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Brokers) != 1 || resp.Brokers[0].Host != "host.docker.internal" || resp.Brokers[0].Port != 19092 {
		t.Errorf("metadata brokers %+v", resp.Brokers)
	}
}
