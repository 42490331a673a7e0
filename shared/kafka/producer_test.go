package kafka

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/internal/testkit"
)

// freezableProducer starts a one-broker kfake cluster behind a freezer and a producer for
// it (with opts), closed when the test ends.
func freezableProducer(t *testing.T, opts ...kgo.Opt) (*Producer, *testkit.Freezer, string) {
	t.Helper()
	f := &testkit.Freezer{}
	c, topic := cluster(t, f.Listen())
	p, err := NewProducer(t.Context(), clusterConfig(c, AuthNone), opts...)
	if err != nil {
		t.Fatalf("NewProducer failed at once (%v); the client is built in the background", err)
	}
	t.Cleanup(p.Close)
	return p, f, topic
}

// produceBefore produces one record as a request would, with the deadline of an
// invocation that has lambda seconds left, and returns its promise's error.
func produceBefore(p *Producer, topic string, lambda time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), lambda)
	defer cancel()
	pctx, pcancel := ProduceContext(ctx)
	defer pcancel()
	done := make(chan error, 1)
	p.Produce(pctx, &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("v")}, func(_ *kgo.Record, err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-pctx.Done():
		return errors.Join(errors.New("no answer before the produce deadline"), pctx.Err())
	}
}

// TestProducerWarmsUp: NewProducer connects in the background, and an invocation that
// comes at once (an on-demand cold start) keeps the client and what it opened: its
// first produce, topic metadata included, needs no connection the warm-up did not open.
func TestProducerWarmsUp(t *testing.T) {
	p, f, topic := freezableProducer(t)
	cl := p.Client()
	<-p.Warming()
	if f.Accepted() == 0 {
		t.Fatal("the warm-up opened no connection")
	}
	if _, _, err := cl.ProducerID(t.Context()); err != nil {
		t.Fatal(err)
	}
	if p.Invoked() || p.Client() != cl {
		t.Fatal("an invocation right after init replaced the client")
	}
	warmed := f.Accepted()
	if err := produceBefore(p, topic, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := f.Accepted(); n != warmed {
		t.Errorf("the first produce opened %d connections beyond the warm-up's %d", n-warmed, warmed)
	}
	if p.Invoked() {
		t.Fatal("a later invocation replaced the client")
	}
}

// TestProducerFrozenConnections: the environment is frozen after init, and every
// connection the warm-up made is silently dead when it thaws. The first invocation must
// still be acknowledged within its deadline, on new connections.
func TestProducerFrozenConnections(t *testing.T) {
	p, f, topic := freezableProducer(t)
	p.FrozenAfter = 50 * time.Millisecond
	<-p.Warming()
	if n := f.Freeze(); n == 0 {
		t.Fatal("the warm-up opened no connection to freeze")
	}
	time.Sleep(2 * p.FrozenAfter) // the freeze

	// What OnInvoke does at the start of the first invocation.
	if !p.Invoked() {
		t.Fatal("the first invocation after the freeze kept the connections made before it")
	}
	if err := produceBefore(p, topic, 3*time.Second); err != nil {
		t.Fatalf("first produce after the freeze: %v", err)
	}
	if f.Accepted() == 0 {
		t.Fatal("the record was acknowledged without a new connection")
	}
}

// TestProducerBrokerDownAtInit: with no broker listening, NewProducer neither fails
// nor waits, and the first request's produce ends with an error before its deadline,
// so the function still answers (create-order: 503) on time.
func TestProducerBrokerDownAtInit(t *testing.T) {
	addr := testkit.FreeAddr(t)
	cfg, err := ConfigFromEnv(func(k string) string { return map[string]string{"KAFKA_BROKERS": addr}[k] })
	if err != nil {
		t.Fatal(err)
	}

	p, err := NewProducer(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewProducer with the broker down: %v", err)
	}
	defer p.Close()
	select {
	case <-p.Warming():
		t.Fatal("NewProducer returned only after the warm-up had given up: init waited for the broker")
	default:
	}
	p.Invoked()
	err = produceBefore(p, "orders.submitted", 2*time.Second)
	if err == nil {
		t.Fatal("a produce to a broker that is down succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("produce = %v, want the produce deadline (create-order answers 503 for it)", err)
	}
}

// TestOnInvoke: the wrapper tells the producer of each invocation before the handler runs.
func TestOnInvoke(t *testing.T) {
	p, _, _ := freezableProducer(t)
	p.FrozenAfter = 0
	first := p.Client()
	h := OnInvoke(p, func(_ context.Context, n int) (*kgo.Client, error) { return p.Client(), nil })
	got, _ := h(t.Context(), 1)
	if got == first {
		t.Fatal("the handler ran before the producer heard of the invocation")
	}
}

// TestProducerBuildFails: when the client cannot be built (here: options kgo refuses,
// which ConfigFromEnv's checks leave to kgo), every produce fails with that error
// instead of waiting, and nothing is acknowledged.
func TestProducerBuildFails(t *testing.T) {
	p, _, topic := freezableProducer(t, kgo.TransactionalID("not-with-cancellation"))
	p.Invoked()
	err := produceBefore(p, topic, 3*time.Second)
	if err == nil || !strings.Contains(err.Error(), "kafka client: cannot allow idempotent produce cancellation") {
		t.Fatalf("produce = %v, want the client's build error", err)
	}
}
