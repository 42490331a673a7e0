package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/order"
)

// Broker faults beyond TestProduceFaults: errors after the broker stored the record,
// node loss and leader moves under concurrent traffic, and a broker restart on the same
// port with its data on disk. The promise checked after each: no 201 without its record
// on the topic, and a client that retries a 503 with its Idempotency-Key ends with one
// order id per key.

// faultStack is a handler on a fresh cluster built with opts.
type faultStack struct {
	cluster *kfake.Cluster
	addrs   []string
	topic   string
	h       *Handler
	client  *kgo.Client
}

func newFaultStack(t *testing.T, partitions int32, opts ...kfake.Opt) *faultStack {
	t.Helper()
	topic := "orders.submitted.faults-" + strconv.FormatInt(topicSeq.Add(1), 10)
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.SeedTopics(partitions, topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s := &faultStack{cluster: c, addrs: c.ListenAddrs(), topic: topic}
	s.connect(t)
	return s
}

func (s *faultStack) connect(t *testing.T) {
	t.Helper()
	cl, err := kafka.NewClient(context.Background(), kafka.Config{Brokers: s.addrs, Auth: kafka.AuthNone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	s.client = cl
	s.h = NewHandler(cl, s.topic, slog.New(logging.NewJSONHandler(io.Discard, nil)))
}

// topicIDs counts the record keys on the topic, reading every partition to its end.
func topicIDs(t *testing.T, addrs []string, topic string) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, r := range testkit.ReadTopic(t, addrs, topic) {
		ids[string(r.Key)]++
	}
	return ids
}

// traffic is what sendTraffic saw: key → order id of the 201s, answers by status.
type traffic struct {
	mu       sync.Mutex
	created  map[string]string
	status   map[int]int
	answered atomic.Int64
}

// trafficHooks observe the answers: created after each 201 with the count so far,
// unavailable after each 503.
type trafficHooks struct {
	created     func(n int64)
	unavailable func()
}

// sendTraffic sends n orders from workers goroutines, each with its own Idempotency-Key,
// retrying 503s with the same key as a client following Retry-After would.
func sendTraffic(t *testing.T, h func() *Handler, n, workers int, run string, hooks trafficHooks) *traffic {
	t.Helper()
	tr := &traffic{created: map[string]string{}, status: map[int]int{}}
	testkit.Spread(workers, n, func(i int) {
		key := fmt.Sprintf("%s-%d", run, i)
		user := "user-" + strconv.Itoa(i%7)
		body := `{"productId": "CATALOG-0001", "qty": ` + strconv.Itoa(1+i%9) + `, "unitPrice": 1200}`
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			resp, err := h().Handle(ctx, post(user, body, "idempotency-key", key))
			cancel()
			if err != nil {
				t.Errorf("order %s: %v", key, err)
				return
			}
			tr.mu.Lock()
			tr.status[resp.StatusCode]++
			tr.mu.Unlock()
			if resp.StatusCode == 201 {
				b := decodeCreated(t, resp)
				if b.OrderID != order.ID(user, key) {
					t.Errorf("order %s: id %s is not order.ID(user, key)", key, b.OrderID)
				}
				tr.mu.Lock()
				tr.created[key] = b.OrderID
				tr.mu.Unlock()
				if n := tr.answered.Add(1); hooks.created != nil {
					hooks.created(n)
				}
				return
			}
			if resp.StatusCode != 503 {
				t.Errorf("order %s: status %d %s; only 201 or 503 may answer a valid order", key, resp.StatusCode, resp.Body)
				return
			}
			if hooks.unavailable != nil {
				hooks.unavailable()
			}
			if attempt >= 200 {
				t.Errorf("order %s: still 503 after %d attempts", key, attempt)
				return
			}
			time.Sleep(20 * time.Millisecond) // Retry-After, shortened
		}
	})()
	return tr
}

// checkEvery201Stored: every 201 has its record on the topic; nothing on the topic is an
// order no request asked for.
func checkEvery201Stored(t *testing.T, addrs []string, topic string, tr *traffic, n int) {
	t.Helper()
	ids := topicIDs(t, addrs, topic)
	if len(tr.created) != n {
		t.Errorf("%d of %d orders answered 201", len(tr.created), n)
	}
	want := map[string]bool{}
	dup := 0
	for key, id := range tr.created {
		want[id] = true
		switch c := ids[id]; {
		case c == 0:
			t.Errorf("order %s (key %s) answered 201 but is not on the topic", id, key)
		case c > 1:
			dup++ // a retried 503 whose first record landed too: same id, one row by upsert
		}
	}
	for id := range ids {
		if !want[id] {
			t.Errorf("record %s on the topic belongs to no request", id)
		}
	}
	t.Logf("answers %v; %d orders, %d distinct ids on the topic, %d ids stored twice (retries after a 503, one row each by upsert)",
		tr.status, len(tr.created), len(ids), dup)
}

// TestProduceErrorAfterAppend: the broker stores the record but answers with an error
// (NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT), once. The idempotent producer
// retries, the broker drops the duplicate, and the request gets a 201 with exactly one
// record.
func TestProduceErrorAfterAppend(t *testing.T) {
	for _, code := range []*kerr.Error{kerr.NotEnoughReplicasAfterAppend, kerr.RequestTimedOut} {
		t.Run(code.Message, func(t *testing.T) {
			s := newFaultStack(t, 1, kfake.NumBrokers(1))
			f := s.cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: s.topic, Err: code, Count: 1})
			resp, err := s.h.Handle(lambdaCtx(t, "req", 5*time.Second), post("user-1", designBody, "idempotency-key", "after-append"))
			if err != nil {
				t.Fatal(err)
			}
			if f.Hits() != 1 {
				t.Fatalf("fault hit %d times, want 1", f.Hits())
			}
			id := decodeCreated(t, resp).OrderID
			ids := topicIDs(t, s.addrs, s.topic)
			if ids[id] != 1 || len(ids) != 1 {
				t.Errorf("topic holds %v, want exactly one record of %s", ids, id)
			}
		})
	}
}

// TestNodeLossAndLeaderMoves runs traffic on a three-broker cluster in three phases:
// as is, after every partition leader moved (MoveTopicPartition, so the client's metadata
// is stale), and after the leader of partition 0 was removed from the cluster. Requests
// answer 201 or 503, never anything else, and every 201 has its record.
func TestNodeLossAndLeaderMoves(t *testing.T) {
	const each, workers = 100, 8
	s := newFaultStack(t, 3, kfake.NumBrokers(3))
	run := "move-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	all := &traffic{created: map[string]string{}, status: map[int]int{}}
	phase := func(name string) {
		tr := sendTraffic(t, func() *Handler { return s.h }, each, workers, run+"-"+name, trafficHooks{})
		for k, v := range tr.created {
			all.created[k] = v
		}
		for k, v := range tr.status {
			all.status[k] += v
		}
	}
	phase("before")
	for p := range int32(3) {
		to := (s.cluster.LeaderFor(s.topic, p) + 1) % 3
		if err := s.cluster.MoveTopicPartition(s.topic, p, to); err != nil {
			t.Fatalf("move partition %d to node %d: %v", p, to, err)
		}
	}
	phase("moved")
	victim := s.cluster.LeaderFor(s.topic, 0)
	if err := s.cluster.RemoveNode(victim); err != nil {
		t.Fatalf("remove node %d: %v", victim, err)
	}
	phase("lost")
	t.Logf("leaders moved, node %d removed", victim)
	checkEvery201Stored(t, s.cluster.ListenAddrs(), s.topic, all, 3*each)
}

// TestBrokerRestartSamePort stops the only broker mid-traffic and starts it again on the
// same port from its data directory (kfake.DataDir, synced writes): while it is down
// requests get 503, never 201; clients retrying with their Idempotency-Key then get 201
// with the same order ids, and every acknowledged record survived the restart.
func TestBrokerRestartSamePort(t *testing.T) {
	testkit.Long(t, "restarts the broker from its data directory")
	const n, workers = 200, 6
	port := freePort(t)
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(t.TempDir()), kfake.SyncWrites()}
	s := newFaultStack(t, 2, opts...)

	var (
		down, restarted = make(chan struct{}), make(chan struct{})
		refusedDown     = make(chan struct{}, 1)
		isDown          atomic.Bool
		once            sync.Once
	)
	go func() {
		<-down
		s.cluster.Close()
		isDown.Store(true)
		<-refusedDown // a request was answered 503 while the broker was down
		c, err := kfake.NewCluster(opts...)
		if err != nil {
			t.Errorf("restart: %v", err)
			close(restarted)
			return
		}
		t.Cleanup(c.Close)
		isDown.Store(false)
		close(restarted)
	}()
	tr := sendTraffic(t, func() *Handler { return s.h }, n, workers, "restart-"+strconv.FormatInt(time.Now().UnixNano(), 36), trafficHooks{
		created: func(created int64) {
			if created == n/3 {
				once.Do(func() { close(down) })
			}
		},
		unavailable: func() {
			if isDown.Load() {
				select {
				case refusedDown <- struct{}{}:
				default:
				}
			}
		},
	})
	<-restarted
	checkEvery201Stored(t, s.addrs, s.topic, tr, n)
}

func freePort(t *testing.T) int {
	t.Helper()
	return testkit.FreePort(t)
}
