package testkit

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that goroutines of the code under test may write to while the
// test reads it: a process's output, a logger's or a metrics writer's destination.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
