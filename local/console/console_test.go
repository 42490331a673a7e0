package console

import (
	"strings"
	"testing"
	"time"
)

func TestLines(t *testing.T) {
	var b strings.Builder
	s := New(&b)
	s.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC) }
	w := s.Writer("create-order")
	w.Write([]byte("one\ntw"))
	w.Write([]byte("o\nthree"))
	s.Logf("gateway", "POST %s %d", "/x", 201)
	w.Close()
	want := "03:04:05.006 [create-order] one\n" +
		"03:04:05.006 [create-order] two\n" +
		"03:04:05.006 [gateway] POST /x 201\n" +
		"03:04:05.006 [create-order] three\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
