package main

import (
	"time"

	"github.com/ordersync/ordersync/shared/metrics"
)

// observe writes the invocation's one metrics document (docs/operating.md).
func (h *Handler) observe(res Result, start time.Time) {
	if h.Metrics == nil {
		return
	}
	h.Metrics.Add("BatchSize", metrics.Count, float64(res.Records))
	h.Metrics.Add("Accepted", metrics.Count, float64(res.Accepted))
	h.Metrics.Add("Rejected", metrics.Count, float64(res.Rejected))
	h.Metrics.Add("DeadLettered", metrics.Count, float64(res.DeadLettered))
	if res.BatchItemFailures != nil {
		h.Metrics.Add("ItemFailures", metrics.Count, float64(len(*res.BatchItemFailures)))
	}
	h.Metrics.Since("BatchDuration", start)
	if err := h.Metrics.Flush(time.Now()); err != nil && h.Log != nil {
		h.Log.Warn("write metrics", "error", err)
	}
}
