package paging

import (
	"strconv"
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	c := Cursors{Key: []byte("k")}
	p := Position{CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC), OrderID: "0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1b"}
	s := c.Encode(p, "u-1")
	got, ok := c.Decode(s, "u-1")
	if !ok || !got.CreatedAt.Equal(p.CreatedAt) || got.OrderID != p.OrderID {
		t.Fatalf("decode(encode(%v)) = %v, %v", p, got, ok)
	}
	if _, ok := c.Decode(s, "u-2"); ok {
		t.Fatal("a cursor is accepted for another user")
	}
}

// FuzzParse feeds the query-string parser any limit and cursor: it never panics,
// what it accepts is in range, and the only cursors it accepts are the ones it made.
func FuzzParse(f *testing.F) {
	c := Cursors{Key: []byte("fuzz key")}
	good := c.Encode(Position{CreatedAt: time.UnixMilli(1795080600123).UTC(), OrderID: "0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1b"}, "u-1")
	for _, seed := range []struct {
		limit, cursor, user string
	}{
		{"20", "", "u-1"}, {"100", good, "u-1"}, {"0", good, "u-2"}, {"101", "abc", "u-1"},
		{"-1", good[:len(good)-1], "u-1"}, {"1e2", "%27", "u-1"}, {"", good + "A", "u-1"},
		{"０", "\xff\xfe", "u-1"}, {"5,6", good + "," + good, "u-1"},
	} {
		f.Add(seed.limit, seed.cursor, seed.user, true, true)
	}
	f.Fuzz(func(t *testing.T, limit, cursor, user string, hasLimit, hasCursor bool) {
		params := map[string]string{"other": limit}
		if hasLimit {
			params["limit"] = limit
		}
		if hasCursor {
			params["cursor"] = cursor
		}
		q, errs := c.Parse(params, user)
		if errs != nil {
			return
		}
		if q.Limit < 1 || q.Limit > MaxLimit {
			t.Fatalf("limit %q accepted as %d", limit, q.Limit)
		}
		if hasLimit && strconv.Itoa(q.Limit) != limit {
			t.Fatalf("limit %q read as %d", limit, q.Limit)
		}
		if hasCursor && c.Encode(q.After, user) != cursor {
			t.Fatalf("cursor %q accepted but not one this parser makes", cursor)
		}
	})
}
