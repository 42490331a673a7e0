package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/local/runtimeapi"
	"github.com/ordersync/ordersync/shared/kafka"
)

// The binary's start-up as Lambda runs it: built, started under the Runtime API
// emulator, and invoked with the sample event after the faults of a cold start.

// startFunction builds this function and starts one process under the emulator with
// brokers, waiting until init has ended (its first request for work).
func startFunction(t *testing.T, brokers string, timeout time.Duration) *runtimeapi.Function {
	t.Helper()
	testkit.Long(t, "builds and runs the function")
	fn := testkit.Lambda(t, runtimeapi.Config{
		Name: "create-order", Path: testkit.Bootstrap(t), Dir: ".", Timeout: timeout, MemorySize: 512, Concurrency: 1, Region: "eu-west-1",
		Env: []string{"KAFKA_BROKERS=" + brokers, "KAFKA_AUTH=none", "LOG_LEVEL=debug"},
	})
	if err := fn.Start(t.Context()); err != nil {
		t.Fatalf("init: %v", err)
	}
	return fn
}

// invokeSample invokes fn with events/create-order.json and returns the response.
func invokeSample(t *testing.T, fn *runtimeapi.Function) events.APIGatewayV2HTTPResponse {
	t.Helper()
	out := testkit.InvokeFile(t, fn, "../../events/create-order.json")
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return resp
}

// TestBrokerDownAtInit: nothing listens at KAFKA_BROKERS. Init still ends (it waits for
// no broker), and the first request gets 503 with Retry-After before Lambda's timeout.
func TestBrokerDownAtInit(t *testing.T) {
	fn := startFunction(t, testkit.FreeAddr(t), 3*time.Second)
	resp := invokeSample(t, fn)
	if resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" {
		t.Fatalf("first request with the broker down: %d %v %s, want 503 with Retry-After", resp.StatusCode, resp.Headers, resp.Body)
	}
}

// TestFrozenAfterInit: the environment is frozen after init (provisioned concurrency,
// SnapStart) and the connections init opened are silently dead when it thaws. The first
// request must still get its 201 within Lambda's timeout, on new connections.
func TestFrozenAfterInit(t *testing.T) {
	var f testkit.Freezer
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders.submitted"), f.Listen())
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	fn := startFunction(t, strings.Join(cluster.ListenAddrs(), ","), 6*time.Second)

	// The warm-up opens a connection for requests and one for produce.
	f.FreezeAfterInit(t, 2, kafka.FrozenAfter+500*time.Millisecond)

	resp := invokeSample(t, fn)
	if resp.StatusCode != 201 {
		t.Fatalf("first request after the freeze: %d %s, want 201", resp.StatusCode, resp.Body)
	}
	if f.Accepted() == 0 {
		t.Fatal("201 without a new connection")
	}
}
