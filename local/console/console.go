// Package console provides the local stack's one log stream. In text (the default) every
// line is "time [component] LEVEL message key=value ...", e.g.
//
//	12:00:01.250 [gateway] INFO POST /order-service/u-1/orders 201 3ms
//
// and in JSON every line is one object with time, component, level and msg first. What
// a function writes (slog JSON on stderr, as on Lambda) is read back and written in the
// stream's format, so one stream never mixes formats.
package console

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Format is how the stream writes a line.
type Format int

// Formats of a stream.
const (
	Text Format = iota // time [component] LEVEL message key=value ...
	JSON               // one JSON object per line
)

// ParseFormat reads a --log-format value: text or json.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "text":
		return Text, nil
	case "json":
		return JSON, nil
	}
	return 0, fmt.Errorf("--log-format %q: want text or json", s)
}

// Stream serialises lines from every component onto one writer.
type Stream struct {
	mu     sync.Mutex
	out    io.Writer
	now    func() time.Time
	format Format
	level  slog.Level
	emf    func(line []byte) bool
}

// Option changes a stream.
type Option func(*Stream)

// WithFormat sets the stream's format; Text is the default.
func WithFormat(f Format) Option { return func(s *Stream) { s.format = f } }

// WithEMF hands every line that may be a CloudWatch EMF document (the functions' metrics)
// to take; a line it takes is shown at debug level only, so the stream stays readable
// while the documents feed live counters.
func WithEMF(take func(line []byte) bool) Option { return func(s *Stream) { s.emf = take } }

// WithLevel drops lines below level; info is the default.
func WithLevel(l slog.Level) Option { return func(s *Stream) { s.level = l } }

// New returns a stream writing to out.
func New(out io.Writer, opts ...Option) *Stream {
	s := &Stream{out: out, now: time.Now, level: slog.LevelInfo}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Format is the stream's format.
func (s *Stream) Format() Format { return s.format }

// Enabled reports whether lines at level are written.
func (s *Stream) Enabled(level slog.Level) bool { return level >= s.level }

// Logf writes one info line for component.
func (s *Stream) Logf(component, format string, args ...any) {
	s.logf(component, slog.LevelInfo, format, args...)
}

// Warnf writes one warning line for component.
func (s *Stream) Warnf(component, format string, args ...any) {
	s.logf(component, slog.LevelWarn, format, args...)
}

func (s *Stream) logf(component string, level slog.Level, format string, args ...any) {
	if !s.Enabled(level) {
		return
	}
	r := slog.NewRecord(s.now(), level, fmt.Sprintf(format, args...), 0)
	s.write(component, r, nil)
}

// Logger returns a structured logger whose lines carry component.
func (s *Stream) Logger(component string) *slog.Logger {
	return slog.New(&handler{s: s, component: component, min: slog.LevelDebug})
}

// LoggerAt is Logger writing only records at min and above (and at the stream's level),
// e.g. a library's warnings and errors.
func (s *Stream) LoggerAt(component string, min slog.Level) *slog.Logger {
	return slog.New(&handler{s: s, component: component, min: min})
}

// Writer returns a writer that turns each line written to it into a line of component:
// a slog JSON record is rendered in the stream's format, any other line is an info
// message. A partial last line is held until its newline or Close.
func (s *Stream) Writer(component string) io.WriteCloser {
	return &lineWriter{s: s, component: component}
}

// write formats one record, with pre-resolved attributes first, and writes it.
func (s *Stream) write(component string, r slog.Record, pre []slog.Attr) {
	var b bytes.Buffer
	if s.format == JSON {
		appendJSON(&b, s.now(), component, r, pre)
	} else {
		appendText(&b, s.now(), component, r, pre)
	}
	b.WriteByte('\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	// A failed write to the terminal has nowhere better to be reported.
	s.out.Write(b.Bytes())
}

// line writes one raw line of output for component.
func (s *Stream) line(component string, b []byte) {
	b = bytes.TrimRight(b, "\r\n")
	r, ok := parseRecord(b, s.now())
	if !ok {
		r = slog.NewRecord(s.now(), slog.LevelInfo, string(b), 0)
	}
	if ok && s.emf != nil && bytes.Contains(b, []byte(`"`+emfKey+`"`)) && s.emf(b) {
		r.Level = slog.LevelDebug
	}
	if !s.Enabled(r.Level) {
		return
	}
	s.write(component, r, nil)
}

// handler is a slog.Handler writing to a stream under one component.
type handler struct {
	s         *Stream
	component string
	min       slog.Level
	attrs     []slog.Attr // from WithAttrs, keys already prefixed by their groups
	prefix    string      // the open groups, "a.b."
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.min && h.s.Enabled(l)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if !h.Enabled(ctx, r.Level) {
		return nil
	}
	if h.prefix != "" {
		nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		r.Attrs(func(a slog.Attr) bool {
			nr.AddAttrs(prefixed(h.prefix, a))
			return true
		})
		r = nr
	}
	h.s.write(h.component, r, h.attrs)
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range as {
		n.attrs = append(n.attrs, prefixed(h.prefix, a))
	}
	return &n
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.prefix = h.prefix + name + "."
	return &n
}

func prefixed(prefix string, a slog.Attr) slog.Attr {
	if prefix == "" {
		return a
	}
	return slog.Attr{Key: prefix + a.Key, Value: a.Value}
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

// levelName is slog's name for a level, e.g. INFO or WARN.
func levelName(l slog.Level) string { return strings.TrimSpace(l.String()) }
