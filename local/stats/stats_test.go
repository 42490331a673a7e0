package stats

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/metrics"
)

// Documents written by the functions' own recorder are summed per service.
func TestCollector(t *testing.T) {
	var c Collector
	var out bytes.Buffer
	create := metrics.New("ordersync", "create-order", &out)
	for _, ms := range []float64{2, 6} {
		out.Reset()
		create.Add("OrdersCreated", metrics.Count, 1)
		create.Add("ProduceLatency", metrics.Milliseconds, ms)
		create.Flush(time.Now())
		if !c.Add(bytes.TrimSpace(out.Bytes())) {
			t.Fatalf("not taken for an EMF document: %s", out.Bytes())
		}
	}
	for _, line := range []string{`{"level":"INFO","msg":"order submitted"}`, `not json`, `{"_aws":{}}`} {
		if c.Add([]byte(line)) {
			t.Errorf("%s taken for an EMF document", line)
		}
	}
	got := c.Snapshot()["create-order"]
	if got["OrdersCreated"].Sum != 2 || got["ProduceLatency"].Count != 2 || got["ProduceLatency"].Mean != 4 || got["ProduceLatency"].Max != 6 {
		t.Fatalf("snapshot = %+v", got)
	}

	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/_stats", nil))
	var body map[string]map[string]Metric
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body["create-order"]["OrdersCreated"].Sum != 2 {
		t.Fatalf("GET /_stats = %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/_stats", nil))
	if rec.Code != 405 {
		t.Fatalf("POST /_stats = %d", rec.Code)
	}
}
