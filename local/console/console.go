// Package console provides the local stack's one log stream: every line carries the time
// and the component that wrote it, e.g. "12:00:01.250 [gateway] POST /orders 201 3ms".
package console

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"sync"
	"time"
)

// Stream serialises lines from every component onto one writer.
type Stream struct {
	mu  sync.Mutex
	out io.Writer
	now func() time.Time
}

// New returns a stream writing to out.
func New(out io.Writer) *Stream {
	return &Stream{out: out, now: time.Now}
}

// Logf writes one line for component.
func (s *Stream) Logf(component, format string, args ...any) {
	s.line(component, []byte(fmt.Sprintf(format, args...)))
}

// Logger returns a standard logger whose lines carry component.
func (s *Stream) Logger(component string) *log.Logger {
	return log.New(s.Writer(component), "", 0)
}

// Writer returns a writer that prefixes each line written to it with component; a
// partial last line is held until its newline or Close.
func (s *Stream) Writer(component string) io.WriteCloser {
	return &lineWriter{s: s, component: component}
}

func (s *Stream) line(component string, b []byte) {
	b = bytes.TrimRight(b, "\r\n")
	s.mu.Lock()
	defer s.mu.Unlock()
	// A failed write to the terminal has nowhere better to be reported.
	fmt.Fprintf(s.out, "%s [%s] %s\n", s.now().Format("15:04:05.000"), component, b)
}

type lineWriter struct {
	s         *Stream
	component string
	mu        sync.Mutex
	buf       []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.s.line(w.component, w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a runaway line without newline
		w.s.line(w.component, w.buf)
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// Close writes any partial last line.
func (w *lineWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.s.line(w.component, w.buf)
		w.buf = nil
	}
	return nil
}
