package testkit

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that goroutines of the code under test may write to while the
// test reads it: a process's output, a logger's or a metrics writer's destination.
type Buffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	ends []int // where each Write ended
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.b.Write(p)
	b.ends = append(b.ends, b.b.Len())
	return n, err
}

// Writes returns what was written so far, one string per Write: for a test of how
// output is grouped into writes.
func (b *Buffer) Writes() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ws, start := b.b.Bytes(), make([]string, len(b.ends)), 0
	for i, end := range b.ends {
		ws[i] = string(data[start:end])
		start = end
	}
	return ws
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
