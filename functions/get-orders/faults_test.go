package main

import (
	"database/sql"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/testkit"
)

// The driver logs every connection the proxy cuts; those cuts are the point of this test.
func init() { testkit.SilenceDriverLog() }

// TestDatabaseFaults walks one warm handler (one execution environment) through a
// stalled database, a lost answer, a restart and an outage. While the database cannot
// answer, each request gets 503 problem+json with Retry-After before its invocation's
// deadline; the first request after the database is back gets its 200, with the same
// handler and pool (no cold start).
func TestDatabaseFaults(t *testing.T) {
	maria := freshMaria(t)
	direct := sql.OpenDB(mustConnector(t, mariaConfig(t, maria.URL)))
	defer direct.Close()
	if err := applyMigrations(direct); err != nil {
		t.Fatal(err)
	}
	id := newID(t)
	insert(t, direct, stored{table: "orders", id: id, user: "u-1", product: "P", qty: 1, unitPrice: 1, createdAt: t0})

	p := testkit.NewDBProxy(t, maria.Config().Addr)
	sqldb := sql.OpenDB(mustConnector(t, mariaConfig(t, p.URL(maria.URL))))
	sqldb.SetMaxOpenConns(maxConns)
	defer sqldb.Close()
	h := testHandler(sqldb)
	h.QueryTimeout = 5 * time.Second // longer than the invocation: its deadline must bound the wait

	// deadline is the invocation's; the handler must answer before it.
	const deadline = 2 * time.Second
	get := func(step string, want int) {
		t.Helper()
		start := time.Now()
		r, err := h.Handle(lambdaCtx(t, deadline), getOne("u-1", id))
		took := time.Since(start)
		if err != nil || r.StatusCode != want {
			t.Fatalf("%s: %d %s %v, want %d", step, r.StatusCode, r.Body, err, want)
		}
		if took >= deadline {
			t.Fatalf("%s: answered after %s, past the invocation's deadline of %s", step, took, deadline)
		}
		if want == 503 && (r.Headers["Retry-After"] == "" || r.Headers["Content-Type"] != "application/problem+json") {
			t.Fatalf("%s: 503 headers %v", step, r.Headers)
		}
	}
	get("warm", 200)

	query := testkit.Command(testkit.ComQuery, "")
	stall := p.Add(query, testkit.Stall, -1)
	get("database stalled", 503)
	stall.Release()
	get("stall over", 200)

	p.Add(query, testkit.CutAfter, 1)
	get("answer lost, connection cut: read again on a fresh connection", 200)

	p.Cut()
	get("database restarted: every pooled connection cut", 200)

	p.Restart()
	get("database down", 503)
	get("database still down", 503)
	p.Up()
	get("database back", 200)
}
