// Package logging provides the JSON slog logger every ordersync process writes with,
// configured from LOG_LEVEL.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Level parses LOG_LEVEL: debug, info (also the empty string), warn (or warning) or
// error, in any case.
func Level(s string) (slog.Level, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "":
		return slog.LevelInfo, nil
	case "warning":
		return slog.LevelWarn, nil
	case "debug", "info", "warn", "error":
		var l slog.Level
		if err := l.UnmarshalText([]byte(s)); err == nil {
			return l, nil
		}
	}
	return 0, fmt.Errorf("LOG_LEVEL: unknown level %q (want debug, info, warn, error)", s)
}

// New returns a JSON logger on w at the level LOG_LEVEL names (getenv is os.Getenv
// outside tests), or the error that names the variable.
func New(w io.Writer, getenv func(string) string) (*slog.Logger, error) {
	level, err := Level(getenv("LOG_LEVEL"))
	if err != nil {
		return nil, err
	}
	return slog.New(NewJSONHandler(w, &slog.HandlerOptions{Level: level})), nil
}

// LogAttrs is l.LogAttrs without the caller's program counter, which slog.Logger takes
// with a stack walk on every call although no ordersync handler logs a source location:
// the lines written once per request, per record or per row stay cheap.
func LogAttrs(ctx context.Context, l *slog.Logger, level slog.Level, msg string, attrs ...slog.Attr) {
	if !l.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(attrs...)
	_ = l.Handler().Handle(ctx, r) // like slog.Logger, which drops a handler's error
}
