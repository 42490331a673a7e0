package testkit

import (
	"context"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Produced keeps the records a test's producer was given until the test takes them.
type Produced struct {
	mu  sync.Mutex
	out []*kgo.Record
}

// Add keeps a copy of r, its key, value and headers cloned: a handler may reuse a
// record and its buffers once the record is acknowledged.
func (p *Produced) Add(r *kgo.Record) {
	c := *r
	c.Key, c.Value, c.Headers = slices.Clone(r.Key), slices.Clone(r.Value), slices.Clone(r.Headers)
	for i := range c.Headers {
		c.Headers[i].Value = slices.Clone(c.Headers[i].Value)
	}
	p.mu.Lock()
	p.out = append(p.out, &c)
	p.mu.Unlock()
}

// Take returns the records kept since the last Take.
func (p *Produced) Take() []*kgo.Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.out
	p.out = nil
	return out
}

// MemProducer acknowledges every record at once and keeps a copy of it, so a handler
// runs thousands of times a second with no network and no timers.
type MemProducer struct {
	Produced
}

// Produce keeps a copy of r and acknowledges it.
func (m *MemProducer) Produce(_ context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	m.Add(r)
	promise(r, nil)
}
