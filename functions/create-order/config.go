package main

import (
	"fmt"
	"log/slog"
	"strings"
)

// logLevel parses LOG_LEVEL: debug, info (the default), warn or error, in any case.
func logLevel(v string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("LOG_LEVEL: unknown level %q (want debug, info, warn, error)", v)
}
