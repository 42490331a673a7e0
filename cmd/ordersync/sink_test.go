package main

import (
	"strings"
	"testing"
)

// A bad LOG_LEVEL stops the sink command with one line naming the variable, as
// shared/logging does for every process, instead of falling back to info.
func TestSinkRefusesBadLogLevel(t *testing.T) {
	t.Setenv("LOG_LEVEL", "verbose")
	err := runSink([]string{"--sink-config", "../../connect/orders-sink.json"})
	if err == nil || !strings.Contains(err.Error(), "LOG_LEVEL") || !strings.Contains(err.Error(), "verbose") {
		t.Fatalf("runSink = %v, want an error naming LOG_LEVEL and its value", err)
	}
}
