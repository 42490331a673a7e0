package logging

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/testkit"
)

// both returns ordersync's JSON handler and slog's, each writing to its own buffer.
func both(opts *slog.HandlerOptions) (ours, std slog.Handler, ob, sb *bytes.Buffer) {
	ob, sb = new(bytes.Buffer), new(bytes.Buffer)
	return NewJSONHandler(ob, opts), slog.NewJSONHandler(sb, opts), ob, sb
}

// sameLines logs r through ours and std, each shaped by with, and fails unless both wrote
// the same bytes.
func sameLines(t *testing.T, opts *slog.HandlerOptions, with func(slog.Handler) slog.Handler, rs ...slog.Record) {
	t.Helper()
	ours, std, ob, sb := both(opts)
	ours, std = with(ours), with(std)
	for _, r := range rs {
		if ours.Enabled(context.Background(), r.Level) != std.Enabled(context.Background(), r.Level) {
			t.Fatalf("Enabled(%v) differs", r.Level)
		}
		if err := ours.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if err := std.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if ob.String() != sb.String() {
		t.Errorf("ordersync's handler wrote\n%s\nslog's wrote\n%s", ob, sb)
	}
}

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("resolved") }

type marshalingError struct{}

func (marshalingError) Error() string                { return "as text" }
func (marshalingError) MarshalJSON() ([]byte, error) { return []byte(`{"as":"json"}`), nil }

// TestJSONHandlerAsSlog: every kind of attribute, WithAttrs, WithGroup and the options
// give the bytes slog's JSON handler gives, whether the handler writes the line itself or
// leaves it to slog.
func TestJSONHandlerAsSlog(t *testing.T) {
	when := time.Date(2026, 12, 2, 3, 4, 5, 120_000_000, time.UTC)
	record := func(level slog.Level, msg string, as ...slog.Attr) slog.Record {
		r := slog.NewRecord(when, level, msg, 0)
		r.AddAttrs(as...)
		return r
	}
	none := func(h slog.Handler) slog.Handler { return h }
	plain := []slog.Attr{
		slog.String("order_id", "5f1c9a1e-2b7d-4c1e-9a3f-0d8e7b6a5c4d"), slog.Int("records", -3), slog.Uint64("u", math.MaxUint64),
		slog.Bool("ok", true), slog.Duration("took", 1500*time.Millisecond), slog.Time("at", when), slog.Any("error", errors.New(`no "such" file`)),
		{}, slog.String("", "empty key"), slog.Int("", 0),
	}
	for _, tc := range []struct {
		name string
		opts *slog.HandlerOptions
		with func(slog.Handler) slog.Handler
		rs   []slog.Record
	}{
		{"plain attributes", nil, none, []slog.Record{record(slog.LevelInfo, "order accepted", plain...)}},
		{"no attributes, no time", nil, none, []slog.Record{slog.NewRecord(time.Time{}, slog.LevelWarn, "m", 0)}},
		{"levels between the named ones", nil, none, []slog.Record{record(slog.LevelWarn+2, "w"), record(slog.LevelDebug-1, "d")}},
		{"below the level", &slog.HandlerOptions{Level: slog.LevelWarn}, none, []slog.Record{record(slog.LevelInfo, "dropped by the caller")}},
		{"escapes", nil, none, []slog.Record{record(slog.LevelInfo, "a\"b\\c\n\r\t\x00\x1f\x7f <&> é \u2028\u2029 \xff\xfe 𝄞 end",
			slog.String("k\"ey", "0123456789abcdef\"0123456789abcdef\x01"))}},
		{"local time", nil, none, []slog.Record{slog.NewRecord(when.In(time.FixedZone("X", -3*3600-1800)), slog.LevelInfo, "m", 0)}},
		{"whole seconds and nanoseconds", nil, none, []slog.Record{slog.NewRecord(when.Truncate(time.Second), slog.LevelInfo, "m", 0),
			slog.NewRecord(when.Add(7), slog.LevelInfo, "m", 0), slog.NewRecord(time.Date(9, 1, 2, 0, 0, 0, 1000, time.UTC), slog.LevelInfo, "m", 0)}},
		{"a year RFC 3339 cannot write", nil, none, []slog.Record{slog.NewRecord(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "m", 0),
			record(slog.LevelInfo, "m", slog.Time("at", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)))}},
		{"left to slog", nil, none, []slog.Record{
			record(slog.LevelInfo, "m", slog.String("before", "x"), slog.Float64("f", 0.1)),
			record(slog.LevelInfo, "m", slog.Any("v", valuer{})),
			record(slog.LevelInfo, "m", slog.Group("g", slog.Int("a", 1)), slog.Group("", slog.Int("inline", 2))),
			record(slog.LevelInfo, "m", slog.Any("error", marshalingError{}), slog.Any("nil", nil), slog.Any("map", map[string]int{"a": 1})),
		}},
		{"with attributes", nil, func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("request_id", "req-1")}).WithAttrs(nil).WithAttrs([]slog.Attr{slog.Int("n", 2), {}})
		}, []slog.Record{record(slog.LevelInfo, "m", plain...), record(slog.LevelInfo, "m", slog.Float64("f", 1e21))}},
		{"with attributes slog writes", nil, func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.Float64("f", 2.5)}).WithAttrs([]slog.Attr{slog.String("then", "x")})
		}, []slog.Record{record(slog.LevelInfo, "m", plain...)}},
		{"with a group", nil, func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("request_id", "req-1")}).WithGroup("").WithGroup("g").WithAttrs([]slog.Attr{slog.Int("n", 2)})
		}, []slog.Record{record(slog.LevelInfo, "m", plain...), record(slog.LevelInfo, "no attributes")}},
		{"ReplaceAttr", &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}, none, []slog.Record{record(slog.LevelInfo, "m", plain...)}},
		{"AddSource", &slog.HandlerOptions{AddSource: true}, none, []slog.Record{record(slog.LevelInfo, "m")}},
	} {
		t.Run(tc.name, func(t *testing.T) { sameLines(t, tc.opts, tc.with, tc.rs...) })
	}
}

// FuzzJSONHandler writes a record of fuzzed text, numbers and time through ordersync's
// JSON log handler and slog's, directly and after WithAttrs: they must write the same
// bytes.
func FuzzJSONHandler(f *testing.F) {
	f.Add("order accepted", "order_id", "5f1c9a1e-2b7d-4c1e-9a3f-0d8e7b6a5c4d", int64(-7), int64(1795080600), int64(123456789), 0, 1)
	f.Add("a\"b\\\n\x00é\u2028\xff", "", "\x7f<&>\U0001D11E", int64(math.MinInt64), int64(-62135596800), int64(0), 4, -1)
	f.Add("0123456789abcdef", "k", "01234567\"", int64(0), int64(253402300799), int64(999999999), -4, 0)
	f.Fuzz(func(t *testing.T, msg, key, value string, n, sec, nsec int64, level, zone int) {
		when := time.Unix(sec, nsec).In(time.FixedZone("", (zone%48)*1800))
		r := slog.NewRecord(when, slog.Level(level), msg, 0)
		r.AddAttrs(slog.String(key, value), slog.Int64(key+"n", n), slog.Time("at", when), slog.Any("error", errors.New(value)))
		sameLines(t, nil, func(h slog.Handler) slog.Handler { return h }, r)
		sameLines(t, nil, func(h slog.Handler) slog.Handler { return h.WithAttrs([]slog.Attr{slog.String(value, key)}) }, r)
	})
}

// TestJSONHandlerWholeLines: lines from the handler and from the slog handler it falls
// back on never interleave, nor race, on a writer that is not safe for concurrent use.
func TestJSONHandlerWholeLines(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewJSONHandler(&buf, nil)).With("request_id", "r")
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 200 {
				if i%2 == 0 {
					l.Info("plain", "i", i)
				} else {
					l.Info("float", "f", 0.5)
				}
			}
		})
	}
	wg.Wait()
	for n, line := range bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n")) {
		if !bytes.HasPrefix(line, []byte(`{"time":`)) || !bytes.HasSuffix(line, []byte("}")) {
			t.Fatalf("line %d is not whole: %s", n+1, line)
		}
	}
}

// BenchmarkJSONHandler: one line as validate-order writes it per record, with its trace.
func BenchmarkJSONHandler(b *testing.B) {
	for _, h := range []struct {
		name string
		h    slog.Handler
	}{{"ordersync", NewJSONHandler(io.Discard, nil)}, {"slog", slog.NewJSONHandler(io.Discard, nil)}} {
		b.Run(h.name, func(b *testing.B) {
			l := h.h.WithAttrs([]slog.Attr{slog.String("request_id", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef")})
			b.ReportAllocs()
			for b.Loop() {
				r := slog.NewRecord(time.Now(), slog.LevelInfo, "order accepted", 0)
				r.AddAttrs(slog.String("order_id", "5f1c9a1e-2b7d-4c1e-9a3f-0d8e7b6a5c4d"),
					slog.String("traceparent", "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"))
				_ = l.Handle(context.Background(), r)
			}
		})
	}
}

// TestHold: held lines, from the logger and the loggers derived from it, reach the
// writer in one Write, in order, when the last of nested Holds is released, and not
// before; a second release changes nothing; past 64 KiB they are written out first.
func TestHold(t *testing.T) {
	w := &testkit.Buffer{}
	l := slog.New(NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: nil}))
	rl := l.With(slog.String("request_id", "r1"))

	release := Hold(rl)
	inner := Hold(l)
	l.Info("one")
	rl.Info("two", slog.Int("n", 2))
	rl.WithGroup("g").Info("three", slog.Float64("f", 1.5)) // written by slog's handler
	inner()
	inner()
	if got := w.Writes(); len(got) != 0 {
		t.Fatalf("written while held: %q", got)
	}
	release()
	got := w.Writes()
	if len(got) != 1 || strings.Count(got[0], "\n") != 3 ||
		!strings.Contains(got[0], `"msg":"one"}`) || strings.Index(got[0], `"one"`) > strings.Index(got[0], `"two"`) ||
		strings.Index(got[0], `"two"`) > strings.Index(got[0], `"three"`) || !strings.Contains(got[0], `"g":{"f":1.5}`) {
		t.Fatalf("after release: %q", got)
	}
	release()
	l.Info("four")
	if got := w.Writes(); len(got) != 2 || !strings.Contains(got[1], `"four"`) {
		t.Fatalf("not held: %q", got)
	}

	w2 := &testkit.Buffer{}
	l2 := slog.New(NewJSONHandler(w2, nil))
	release = Hold(l2)
	long := strings.Repeat("x", 1000)
	for i := range 100 {
		l2.Info(long, slog.Int("i", i))
	}
	early := len(w2.Writes())
	release()
	total := 0
	for _, c := range w2.Writes() {
		total += strings.Count(c, "\n")
		if len(c) > 64<<10 {
			t.Errorf("a Write of %d bytes", len(c))
		}
	}
	if early == 0 || total != 100 {
		t.Errorf("%d writes before release, %d lines in all", early, total)
	}

	// A handler NewJSONHandler did not make: Hold does nothing.
	w3 := &testkit.Buffer{}
	release = Hold(slog.New(slog.NewJSONHandler(w3, nil)))
	slog.New(slog.NewJSONHandler(w3, nil)).Info("x")
	release()
	if len(w3.Writes()) != 1 {
		t.Errorf("other handler: %q", w3.Writes())
	}
}
