package main

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// benchDB is a migrated MariaDB database with one connection, shared by a benchmark and
// its baseline: both run on the same connection.
func benchDB(b *testing.B) *sql.DB {
	sqldb := freshMariaDB(b)
	sqldb.SetMaxOpenConns(1)
	return sqldb
}

// interleaved runs handler and bare by turns, timing only the one named by the
// sub-benchmark. On a shared machine whose load drifts over seconds, a benchmark and its
// baseline run one after the other can differ by 1.5× with no change in code; by turns,
// both see the same load.
func interleaved(b *testing.B, handler, bare func(b *testing.B)) {
	for _, sub := range []struct {
		name          string
		timed, paused func(b *testing.B)
	}{{"handler", handler, bare}, {"database-sql", bare, handler}} {
		b.Run(sub.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sub.timed(b)
				b.StopTimer()
				sub.paused(b)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkGetOne compares GET one order, warm, through the whole handler with a bare
// database/sql QueryRow + Scan of the same row by the same statement.
func BenchmarkGetOne(b *testing.B) {
	sqldb := benchDB(b)
	id := newID(b)
	insert(b, sqldb, stored{table: "orders", id: id, user: "u-1", product: "CATALOG-0001", qty: 5, unitPrice: 1200, createdAt: t0})
	seed(b, sqldb, "u-1", 50, t0.Add(-time.Hour))
	h := testHandler(sqldb)
	ctx := lambdaCtx(b, time.Hour)
	req := getOne("u-1", id)
	interleaved(b, func(b *testing.B) {
		r, err := h.Handle(ctx, req)
		if err != nil || r.StatusCode != 200 {
			b.Fatalf("%d %s %v", r.StatusCode, r.Body, err)
		}
	}, func(b *testing.B) {
		var r row
		if err := r.scan(sqldb.QueryRowContext(ctx, oneSQL, id, "u-1", id, "u-1")); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkList20 compares a page of 20 through the whole handler with the bare query
// of the same page plus the scan of its rows.
func BenchmarkList20(b *testing.B) {
	sqldb := benchDB(b)
	seed(b, sqldb, "u-1", 60, t0)
	h := testHandler(sqldb)
	ctx := lambdaCtx(b, time.Hour)
	req := getList("u-1", map[string]string{"limit": "20"})
	interleaved(b, func(b *testing.B) {
		r, err := h.Handle(ctx, req)
		if err != nil || r.StatusCode != 200 {
			b.Fatalf("%d %s %v", r.StatusCode, r.Body, err)
		}
	}, func(b *testing.B) {
		if n := bareList(b, ctx, sqldb); n != 21 {
			b.Fatalf("%d rows", n)
		}
	})
}

func bareList(b *testing.B, ctx context.Context, sqldb *sql.DB) int {
	p := start
	rs, err := sqldb.QueryContext(ctx, listSQL, "u-1", p.CreatedAt, p.CreatedAt, p.OrderID, 21, "u-1", p.CreatedAt, p.CreatedAt, p.OrderID, 21, 21)
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	n := 0
	for rs.Next() {
		var r row
		if err := r.scan(rs); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rs.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}
