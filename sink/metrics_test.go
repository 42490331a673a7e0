package sink

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/metrics"
)

// Each put writes one EMF document: the rows it wrote, the records it dead-lettered and
// its latency; summed over the documents they match what the sink did.
func TestMetricsDocuments(t *testing.T) {
	d := openSQLite(t)
	topic, table, brokers := ordersTopic(t, d, 1)
	dlq := unique("orders.sink.dlq")
	produce(t, brokers, orderRecord(t, topic, testOrder(1)), &kgo.Record{Topic: topic, Key: []byte("junk"), Value: []byte("{not json")},
		orderRecord(t, topic, testOrder(2)))
	cfg := ordersConfig(t, topic, table, "errors.tolerance", "all", "errors.deadletterqueue.topic.name", dlq)

	s := newSink(t, cfg, d, brokers, kgo.FetchMaxWait(50*time.Millisecond))
	s.Progress = -1
	var out testkit.Buffer
	s.Metrics = metrics.New("ordersync", "sink", &out)
	r := runSink(t, s)
	r.waitRecords(t, 3)
	r.stopClean(t)
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
