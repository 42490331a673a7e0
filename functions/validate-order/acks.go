package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrNotAcknowledged is returned by Handle when some output records were not
// acknowledged (failed, or still in flight at the produce deadline); the trigger then
// delivers the batch again.
var ErrNotAcknowledged = errors.New("output records not acknowledged")

// acks follows the promises of a batch's output records, which live in one slice: the
// record a promise is called with is found by its address, with no allocation per
// record. A promise may be called after the invocation has answered; it then only
// updates this struct.
type acks struct {
	records []kgo.Record // the output records
	topics  []string     // the output topic of each record, set before it is produced

	mu     sync.Mutex
	acked  []bool
	left   int
	failed int
	first  error
	done   chan struct{} // closed when left reaches 0
}

func newAcks(records []kgo.Record) *acks {
	w := &acks{records: records, topics: make([]string, len(records)), acked: make([]bool, len(records)),
		left: len(records), done: make(chan struct{})}
	if w.left == 0 {
		close(w.done)
	}
	return w
}

// promise is the kgo promise of every record of the batch.
func (w *acks) promise(r *kgo.Record, err error) {
	i := int((uintptr(unsafe.Pointer(r)) - uintptr(unsafe.Pointer(unsafe.SliceData(w.records)))) / unsafe.Sizeof(kgo.Record{}))
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.failed == 0 {
			w.first = fmt.Errorf("%s: %w", w.topics[i], err)
		}
		w.failed++
	} else {
		w.acked[i] = true
	}
	w.left--
	if w.left == 0 {
		close(w.done)
	}
}

// wait returns nil once every record is acknowledged, or, as soon as a record failed
// and the others are done or ctx (the produce deadline) ends, an ErrNotAcknowledged
// that counts the records not acknowledged per output topic and per input partition.
func (w *acks) wait(ctx context.Context, in []record) error {
	select {
	case <-w.done:
	case <-ctx.Done():
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.left == 0 && w.failed == 0 {
		return nil
	}
	byTopic, bySource := map[string]int{}, map[string]int{}
	var n int
	for i, ok := range w.acked {
		if !ok {
			n++
			byTopic[w.topics[i]]++
			bySource[in[i].Topic+"/"+strconv.FormatInt(in[i].Partition, 10)]++
		}
	}
	cause := w.first
	if w.left > 0 {
		late := fmt.Errorf("%d still in flight at the deadline: %w", w.left, ctx.Err())
		if cause == nil {
			cause = late
		} else {
			cause = fmt.Errorf("%w; %w", cause, late)
		}
	}
	return fmt.Errorf("%w: %d of %d (per output topic: %s; per input partition: %s): %w",
		ErrNotAcknowledged, n, len(w.acked), counts(byTopic), counts(bySource), cause)
}

// counts formats a count per name, sorted by name: "a 2, b 1".
func counts(m map[string]int) string {
	var b strings.Builder
	for i, k := range slices.SortedFunc(maps.Keys(m), cmp.Compare) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + " " + strconv.Itoa(m[k]))
	}
	return b.String()
}
