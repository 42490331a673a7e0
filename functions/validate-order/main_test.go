package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
	bin := filepath.Join(t.TempDir(), "bootstrap")
	if out, err := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var logs bytes.Buffer
	fn, err := runtimeapi.New(runtimeapi.Config{
		Name: "validate-order", Path: bin, Dir: ".", Timeout: 6 * time.Second, MemorySize: 512, Concurrency: 1, Region: "eu-west-1",
		Env:    []string{"KAFKA_BROKERS=" + strings.Join(cluster.ListenAddrs(), ","), "KAFKA_AUTH=none"},
		Output: func(int) io.Writer { return &logs },
		Logf:   t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		fn.Close(ctx)
		if t.Failed() {
			t.Logf("function output:\n%s", logs.String())
		}
	}()
	if err := fn.Start(t.Context()); err != nil {
		t.Fatalf("init: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); f.Accepted() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("init opened %d connections to the broker within 5s, want 2", f.Accepted())
		}
	}
	time.Sleep(100 * time.Millisecond) // let the warm-up's requests finish
	f.Freeze()
	time.Sleep(kafka.FrozenAfter + 500*time.Millisecond)

	payload, err := os.ReadFile("../../events/validate-order.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := fn.Invoke(t.Context(), payload)
	if err != nil {
		t.Fatalf("first batch after the freeze: %v", err)
	}
	var res Result
	if err := json.Unmarshal(out, &res); err != nil || res.Records == 0 || res.Records != res.Accepted+res.Rejected+res.DeadLettered {
		t.Fatalf("first batch after the freeze: %s (%v)", out, err)
	}
	if f.Accepted() == 0 {
		t.Fatal("published without a new connection")
	}
}
