package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/metrics"
)

// syncBuffer is a bytes.Buffer safe for the sink's goroutine and the test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Each put writes one EMF document: the rows it wrote, the records it dead-lettered and
// its latency; summed over the documents they match what the sink did.
func TestMetricsDocuments(t *testing.T) {
	d := openSQLite(t)
	topic, table, dlq := unique("orders"), unique("orders"), unique("orders.sink.dlq")
	createOrdersTable(t, d, table)
	brokers := newCluster(t, 1, topic)
	produce(t, brokers, orderRecord(t, topic, testOrder(1)), &kgo.Record{Topic: topic, Key: []byte("junk"), Value: []byte("{not json")},
		orderRecord(t, topic, testOrder(2)))
	cfg := ordersConfig(t, topic, table, "errors.tolerance", "all", "errors.deadletterqueue.topic.name", dlq)

	s := newSink(t, cfg, d, brokers, kgo.FetchMaxWait(50*time.Millisecond))
	s.Progress = -1
	var out syncBuffer
	s.Metrics = metrics.New("ordersync", "sink", &out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(time.Minute)
	for s.Stats().Records < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var rows, dead float64
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, l := range lines {
		var doc map[string]any
		if err := json.Unmarshal([]byte(l), &doc); err != nil || doc["_aws"] == nil || doc["Service"] != "sink" {
			t.Fatalf("not an EMF document of the sink: %s (%v)", l, err)
		}
		if _, ok := doc["BatchLatency"].(float64); !ok {
			t.Fatalf("no BatchLatency: %s", l)
		}
		rows += doc["RowsWritten"].(float64)
		dead += doc["DeadLettered"].(float64)
	}
	if rows != 2 || dead != 1 {
		t.Fatalf("documents sum to %v rows and %v dead letters, want 2 and 1:\n%s", rows, dead, out.String())
	}
}
