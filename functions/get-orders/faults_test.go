package main

import (
	"database/sql"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func init() { mysql.SetLogger(mysql.Logger(nopLogger{})) }

// nopLogger keeps the driver's "closing bad idle connection" lines out of fault tests.
type nopLogger struct{}

func (nopLogger) Print(...any) {}

// dbProxy forwards TCP connections to MariaDB and plays its faults: a stall (queries
// held), a lost answer, a restart (every connection cut) and an outage (connections
// refused). The sink's fault tests use the same kind of proxy.
type dbProxy struct {
	ln     net.Listener
	target string // the MariaDB server's host:port

	mu       sync.Mutex
	conns    map[net.Conn]bool
	refusing bool
	stall    chan struct{} // while non-nil, queries wait for it to close
	loseNext bool          // the next query reaches the server; its answer is lost and the connection cut
}

const comQuery = 0x03

func newDBProxy(t *testing.T, target string) *dbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.cut(); p.release() })
	return p
}

func (p *dbProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refusing := p.refusing
		p.mu.Unlock()
		s, err := net.Dial("tcp", p.target)
		if refusing || err != nil {
			c.Close()
			if s != nil {
				s.Close()
			}
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = true, true
		p.mu.Unlock()
		lost := make(chan struct{})
		go p.toServer(c, s, lost)
		go p.toClient(s, c, lost)
	}
}

func (p *dbProxy) toServer(c, s net.Conn, lost chan struct{}) {
	defer c.Close()
	defer s.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		isQuery := n > 4 && buf[4] == comQuery
		p.mu.Lock()
		stall, lose := p.stall, isQuery && p.loseNext
		if lose {
			p.loseNext = false
		}
		p.mu.Unlock()
		if isQuery && stall != nil {
			<-stall
		}
		if lose {
			close(lost)
		}
		if _, err := s.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *dbProxy) toClient(s, c net.Conn, lost chan struct{}) {
	defer c.Close()
	defer s.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := s.Read(buf)
		if err != nil {
			return
		}
		select {
		case <-lost:
			return // the server did the work; the client never hears of it
		default:
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *dbProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *dbProxy) setRefusing(on bool) { p.mu.Lock(); p.refusing = on; p.mu.Unlock() }
func (p *dbProxy) stallQueries()       { p.mu.Lock(); p.stall = make(chan struct{}); p.mu.Unlock() }
func (p *dbProxy) loseNextAnswer()     { p.mu.Lock(); p.loseNext = true; p.mu.Unlock() }

func (p *dbProxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stall != nil {
		close(p.stall)
		p.stall = nil
	}
}

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

	target := maria.Config().Addr
	p := newDBProxy(t, target)
	sqldb := sql.OpenDB(mustConnector(t, mariaConfig(t, strings.Replace(maria.URL, target, p.ln.Addr().String(), 1))))
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

	p.stallQueries()
	get("database stalled", 503)
	p.release()
	get("stall over", 200)

	p.loseNextAnswer()
	get("answer lost, connection cut: read again on a fresh connection", 200)

	p.cut()
	get("database restarted: every pooled connection cut", 200)

	p.setRefusing(true)
	p.cut()
	get("database down", 503)
	get("database still down", 503)
	p.setRefusing(false)
	get("database back", 200)
}
