package main

import (
	"strings"
	"testing"
	"time"
)

// TestMissingTopic: a topic that does not exist is a lasting fault, answered 500 within
// the deadline and logged as one ERROR line that names the topic, not a 503 for ever.
func TestMissingTopic(t *testing.T) {
	s := newStack(t)
	s.h.topic = "orders.submitted.absent"
	start := time.Now()
	resp, err := s.h.Handle(lambdaCtx(t, "req-absent", 10*time.Second), post("user-1", designBody))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("answered %d after %v: %s", resp.StatusCode, time.Since(start), s.logs)
	checkProblem(t, resp, 500, nil)
	var errorLines int
	for _, l := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) {
			errorLines++
			if !strings.Contains(l, "orders.submitted.absent") || !strings.Contains(l, `"request_id":"req-absent"`) {
				t.Errorf("error line does not name the topic and request: %s", l)
			}
		}
	}
	if errorLines != 1 {
		t.Errorf("%d ERROR lines, want 1:\n%s", errorLines, s.logs)
	}
}
