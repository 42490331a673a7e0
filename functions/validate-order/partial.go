package main

import (
	"log/slog"
	"strconv"
)

// ItemFailure names one input record in a partial batch response, in the form a Kafka
// trigger reads: {"itemIdentifier":{"partition":"<topic>-<n>","offset":<n>}}
// (aws-lambda-go has no type for it).
type ItemFailure struct {
	ItemIdentifier ItemIdentifier `json:"itemIdentifier"`
}

// ItemIdentifier is a record's partition, as the event keys it, and offset.
type ItemIdentifier struct {
	Partition string `json:"partition"`
	Offset    int64  `json:"offset"`
}

// partial turns a batch whose outputs were not all acknowledged (err says which) into a
// partial batch response, logged as one ERROR line.
func (h *Handler) partial(res Result, in []record, w *acks, err error, log *slog.Logger) Result {
	w.mu.Lock()
	fs := itemFailures(in, w.acked)
	w.mu.Unlock()
	res.BatchItemFailures = &fs
	log.Error("outputs not acknowledged; their partitions will be delivered again from the first record not acknowledged",
		slog.Any("batch_item_failures", fs), slog.Any("error", err))
	return res
}

// itemFailures returns, for each input partition with an output not acknowledged (failed,
// or still in flight at the deadline), its first such input record (lowest offset). The
// trigger resumes each named partition from there and counts every record before it, and
// every partition not named, as done; the records after it are delivered again and their
// outputs written again with the same keys and bytes, which the sink's upsert absorbs.
//
// acked[i] says whether the output of in[i] was acknowledged; in is in topic, partition,
// offset order.
func itemFailures(in []record, acked []bool) []ItemFailure {
	var fs []ItemFailure
	seen := map[string]bool{}
	for i := range in {
		if acked[i] {
			continue
		}
		p := in[i].Topic + "-" + strconv.FormatInt(in[i].Partition, 10)
		if !seen[p] {
			seen[p] = true
			fs = append(fs, ItemFailure{ItemIdentifier{Partition: p, Offset: in[i].Offset}})
		}
	}
	return fs
}
