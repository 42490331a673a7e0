package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/kafka/admin"
)

// TestTopicsCommand runs `ordersync topics` against a three-broker kfake cluster: the
// pipeline's topics and both sinks' topics and dead-letter topics are created with
// replication factor 3 and min.insync.replicas 2; the second run only checks them; a
// topic with too small a replication factor is reported and makes the command fail.
func TestTopicsCommand(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	env := map[string]string{"KAFKA_BROKERS": strings.Join(c.ListenAddrs(), ",")}
	args := []string{"--sink-config", "../../connect/orders-sink.json,../../connect/order-rejections-sink.json"}
	run := func(extra ...string) (string, error) {
		var out bytes.Buffer
		err := topics(context.Background(), append(args, extra...), func(k string) string { return env[k] }, &out)
		return out.String(), err
	}

	out, err := run("--dry-run")
	if err != nil || strings.Count(out, admin.WouldCreate) != 6 {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	out, err = run()
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	for _, topic := range []string{"orders.submitted", "orders", "orders.rejected", "orders.dlq", "orders.sink.dlq", "orders.rejected.sink.dlq"} {
		if !strings.Contains(out, admin.Created+"       "+topic+"\n") {
			t.Errorf("first run does not create %s:\n%s", topic, out)
		}
	}
	out, err = run()
	if err != nil || strings.Count(out, admin.OK+" ") != 6 {
		t.Fatalf("second run: %v, want 6 topics ok:\n%s", err, out)
	}

	// A topic made elsewhere with one replica.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopics(context.Background(), 3, 1, nil, "orders.audit"); err != nil {
		t.Fatal(err)
	}
	env["ORDERS_DLQ_TOPIC"] = "orders.audit"
	out, err = run()
	if !errors.Is(err, admin.ErrMismatch) || !strings.Contains(out, "mismatch      orders.audit: replication factor 1, want 3; min.insync.replicas 1, want 2") {
		t.Fatalf("a weak topic: %v\n%s", err, out)
	}
}
