package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/local/runtimeapi"
	"github.com/ordersync/ordersync/shared/kafka"
)

// TestFrozenAfterInit runs the binary as Lambda does: the environment is frozen after
// init (provisioned concurrency, SnapStart) and the connections init opened are silently
// dead when it thaws. The first batch must still be published within Lambda's timeout,
// on new connections.
func TestFrozenAfterInit(t *testing.T) {
	testkit.Long(t, "builds and runs the function")
	var f testkit.Freezer
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), f.Listen(),
		kfake.SeedTopics(1, "orders.submitted", "orders", "orders.rejected", "orders.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	fn := testkit.Lambda(t, runtimeapi.Config{
		Name: "validate-order", Path: testkit.Bootstrap(t), Dir: ".", Timeout: 6 * time.Second, MemorySize: 512, Concurrency: 1, Region: "eu-west-1",
		Env: []string{"KAFKA_BROKERS=" + strings.Join(cluster.ListenAddrs(), ","), "KAFKA_AUTH=none"},
	})
	if err := fn.Start(t.Context()); err != nil {
		t.Fatalf("init: %v", err)
	}
	f.FreezeAfterInit(t, 2, kafka.FrozenAfter+500*time.Millisecond)

	out := testkit.InvokeFile(t, fn, "../../events/validate-order.json")
	var res Result
	if err := json.Unmarshal(out, &res); err != nil || res.Records == 0 || res.Records != res.Accepted+res.Rejected+res.DeadLettered {
		t.Fatalf("first batch after the freeze: %s (%v)", out, err)
	}
	if f.Accepted() == 0 {
		t.Fatal("published without a new connection")
	}
}
