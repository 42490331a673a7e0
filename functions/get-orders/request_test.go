package main

import (
	"strconv"
	"testing"
	"time"
)

func TestParseOrderID(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1b", "0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1b", true},
		{"0190B6F2-8A5E-7C3D-9B1A-2F4E6D8C0A1B", "0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1b", true},
		{"0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1g", "", false},
		{"0190b6f2x8a5e-7c3d-9b1a-2f4e6d8c0a1b", "", false},
		{"0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1", "", false},
	} {
		if got, ok := parseOrderID(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("parseOrderID(%q) = %q, %v", tc.in, got, ok)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := cursors{key: []byte("k")}
	p := position{createdAt: time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC), orderID: "0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1b"}
	s := c.encode(p, "u-1")
	got, ok := c.decode(s, "u-1")
	if !ok || !got.createdAt.Equal(p.createdAt) || got.orderID != p.orderID {
		t.Fatalf("decode(encode(%v)) = %v, %v", p, got, ok)
	}
	if _, ok := c.decode(s, "u-2"); ok {
		t.Fatal("a cursor is accepted for another user")
	}
}

// FuzzParseList feeds the query-string parser any limit and cursor: it never panics,
// what it accepts is in range, and the only cursors it accepts are the ones it made.
func FuzzParseList(f *testing.F) {
	c := cursors{key: []byte("fuzz key")}
	good := c.encode(position{createdAt: time.UnixMilli(1795080600123).UTC(), orderID: "0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1b"}, "u-1")
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
		q, errs := c.parseList(params, user)
		if errs != nil {
			return
		}
		if q.limit < 1 || q.limit > MaxLimit {
			t.Fatalf("limit %q accepted as %d", limit, q.limit)
		}
		if hasLimit && strconv.Itoa(q.limit) != limit {
			t.Fatalf("limit %q read as %d", limit, q.limit)
		}
		if hasCursor && c.encode(q.after, user) != cursor {
			t.Fatalf("cursor %q accepted but not one this parser makes", cursor)
		}
	})
}
