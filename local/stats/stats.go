// Package stats provides the local stack's live counters: the metrics the functions and
// the sink write as CloudWatch Embedded Metric Format documents, summed per service and
// served as JSON, the way CloudWatch would aggregate them.
package stats

import (
	"encoding/json"
	"net/http"
	"sync"
)

// Collector sums EMF documents. Its zero value is ready to use.
type Collector struct {
	mu       sync.Mutex
	services map[string]map[string]*Metric
}

// Metric is one metric of one service: the sum of its values, and for durations the
// count, mean and largest value.
type Metric struct {
	Unit  string  `json:"unit"`
	Sum   float64 `json:"sum"`
	Count int     `json:"count"`
	Mean  float64 `json:"mean,omitempty"`
	Max   float64 `json:"max,omitempty"`
}

// emf is the part of an EMF document the collector reads.
type emf struct {
	AWS struct {
		CloudWatchMetrics []struct {
			Metrics []struct{ Name, Unit string }
		}
	} `json:"_aws"`
}

// Add sums the metric values of doc, a line a function printed, under its Service
// dimension. It reports whether doc was an EMF document.
func (c *Collector) Add(doc []byte) bool {
	var d emf
	var values map[string]any
	if json.Unmarshal(doc, &d) != nil || len(d.AWS.CloudWatchMetrics) == 0 || json.Unmarshal(doc, &values) != nil {
		return false
	}
	service, _ := values["Service"].(string)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.services == nil {
		c.services = map[string]map[string]*Metric{}
	}
	ms := c.services[service]
	if ms == nil {
		ms = map[string]*Metric{}
		c.services[service] = ms
	}
	for _, directive := range d.AWS.CloudWatchMetrics {
		for _, def := range directive.Metrics {
			v, ok := values[def.Name].(float64)
			if !ok {
				continue
			}
			m := ms[def.Name]
			if m == nil {
				m = &Metric{Unit: def.Unit}
				ms[def.Name] = m
			}
			m.Sum += v
			m.Count++
			if def.Unit == "Milliseconds" {
				m.Mean, m.Max = m.Sum/float64(m.Count), max(m.Max, v)
			}
		}
	}
	return true
}

// Snapshot returns a copy of the counters: service → metric → values.
func (c *Collector) Snapshot() map[string]map[string]Metric {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]map[string]Metric, len(c.services))
	for s, ms := range c.services {
		out[s] = make(map[string]Metric, len(ms))
		for n, m := range ms {
			out[s][n] = *m
		}
	}
	return out
}

// ServeHTTP answers GET with the snapshot as JSON.
func (c *Collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(c.Snapshot()) // a failed write goes nowhere better than the closed connection
}
