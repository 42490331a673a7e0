package testkit

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// A DBProxy forwards TCP connections to a MariaDB server and plays its faults: rules
// that cut a connection before or after a client command, or hold the command until
// released; a cut of every connection; and a restart (every connection cut, new ones
// refused until Up).
type DBProxy struct {
	ln     net.Listener
	target string // the server's host:port

	mu       sync.Mutex
	refusing bool
	pairs    map[*proxyPair]bool
	rules    []*ProxyRule
	accepted atomic.Int64
}

type proxyPair struct {
	client, server net.Conn
	dropAnswers    atomic.Bool // the server's next answer is lost and the connection cut
}

func (pp *proxyPair) close() { pp.client.Close(); pp.server.Close() }

// A ProxyAction is what a ProxyRule does to a client packet it matches.
type ProxyAction int

// The actions of a ProxyRule.
const (
	CutBefore ProxyAction = iota // the command never reaches the server; the connection is cut
	CutAfter                     // the server gets the command; its answer is lost and the connection cut
	Stall                        // the command waits until the rule is released
)

// A ProxyRule acts on the client packets it matches, a given number of times.
type ProxyRule struct {
	match   func([]byte) bool
	action  ProxyAction
	left    int // hits still to act on; -1: every hit (guarded by the proxy's mu)
	count   atomic.Int64
	hits    chan struct{}
	release chan struct{}
	p       *DBProxy
}

// MySQL client commands (the first byte after the 4-byte packet header).
const (
	ComQuery       = 0x03
	ComStmtPrepare = 0x16
	ComStmtExecute = 0x17
)

// Command matches a client packet of command cmd whose text starts with prefix (any
// text when prefix is empty), in any case.
func Command(cmd byte, prefix string) func([]byte) bool {
	return func(b []byte) bool {
		return len(b) > 4 && b[4] == cmd && bytes.HasPrefix(bytes.ToUpper(b[5:]), []byte(prefix))
	}
}

// SilenceDriverLog discards the driver's own log lines ("unexpected EOF", "closing bad
// idle connection"): a DBProxy cuts connections on purpose, and the code under test
// reports what matters itself. Fault tests call it from init.
func SilenceDriverLog() { mysql.SetLogger(mysql.Logger(nopLogger{})) }

type nopLogger struct{}

func (nopLogger) Print(...any) {}

// NewDBProxy starts a proxy to the server at target (host:port), closed with every
// connection and every held command let go when the test ends.
func NewDBProxy(t testing.TB, target string) *DBProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &DBProxy{ln: ln, target: target, pairs: map[*proxyPair]bool{}}
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.cutLocked()
		for _, r := range p.rules {
			r.releaseLocked()
		}
	})
	return p
}

// Addr is the proxy's host:port.
func (p *DBProxy) Addr() string { return p.ln.Addr().String() }

// URL is databaseURL (a DATABASE_URL or DSN naming the target) through the proxy.
func (p *DBProxy) URL(databaseURL string) string {
	return strings.Replace(databaseURL, p.target, p.Addr(), 1)
}

// Accepted is how many connections the proxy has forwarded.
func (p *DBProxy) Accepted() int64 { return p.accepted.Load() }

// Add installs a rule acting on the first times packets that match (-1: on all of them
// until it is released). Rules are tried in the order they were added.
func (p *DBProxy) Add(match func([]byte) bool, action ProxyAction, times int) *ProxyRule {
	r := &ProxyRule{match: match, action: action, left: times, p: p,
		hits: make(chan struct{}, 1024), release: make(chan struct{})}
	p.mu.Lock()
	p.rules = append(p.rules, r)
	p.mu.Unlock()
	return r
}

// Hits is a channel that receives once a hit of the rule (up to 1024 not yet received).
func (r *ProxyRule) Hits() <-chan struct{} { return r.hits }

// Count is how many packets the rule has acted on.
func (r *ProxyRule) Count() int { return int(r.count.Load()) }

// Release lets the commands the rule holds go on, and ends the rule.
func (r *ProxyRule) Release() {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	r.releaseLocked()
}

func (r *ProxyRule) releaseLocked() {
	r.left = 0
	select {
	case <-r.release:
	default:
		close(r.release)
	}
}

// Cut closes every connection, as a server that drops them does.
func (p *DBProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutLocked()
}

func (p *DBProxy) cutLocked() {
	for pp := range p.pairs {
		pp.close()
		delete(p.pairs, pp)
	}
}

// Restart plays a server restart: every connection is dropped, and new ones are refused
// until Up is called.
func (p *DBProxy) Restart() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = true
	p.cutLocked()
}

// Up ends a Restart: new connections reach the server again.
func (p *DBProxy) Up() {
	p.mu.Lock()
	p.refusing = false
	p.mu.Unlock()
}

func (p *DBProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refusing := p.refusing
		p.mu.Unlock()
		if refusing {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.accepted.Add(1)
		pp := &proxyPair{client: c, server: s}
		p.mu.Lock()
		p.pairs[pp] = true
		p.mu.Unlock()
		go p.toServer(pp)
		go p.toClient(pp)
	}
}

func (p *DBProxy) forget(pp *proxyPair) {
	pp.close()
	p.mu.Lock()
	delete(p.pairs, pp)
	p.mu.Unlock()
}

// hit returns the first rule that acts on chunk, counting the hit, or nil.
func (p *DBProxy) hit(chunk []byte) *ProxyRule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.rules {
		if r.left != 0 && r.match(chunk) {
			if r.left > 0 {
				r.left--
			}
			r.count.Add(1)
			select {
			case r.hits <- struct{}{}:
			default:
			}
			return r
		}
	}
	return nil
}

// pipe copies what src sends to dst until either side fails or pass refuses a chunk;
// then the pair is cut.
func (p *DBProxy) pipe(pp *proxyPair, src, dst net.Conn, pass func(chunk []byte) bool) {
	defer p.forget(pp)
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if err != nil || !pass(buf[:n]) {
			return
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// toServer passes the client's packets on, acting on those a rule matches.
func (p *DBProxy) toServer(pp *proxyPair) {
	p.pipe(pp, pp.client, pp.server, func(chunk []byte) bool {
		r := p.hit(chunk)
		if r == nil {
			return true
		}
		switch r.action {
		case CutBefore:
			return false
		case CutAfter:
			pp.dropAnswers.Store(true)
		case Stall:
			<-r.release
		}
		return true
	})
}

// toClient passes the server's answers on, until one is to be lost.
func (p *DBProxy) toClient(pp *proxyPair) {
	p.pipe(pp, pp.server, pp.client, func([]byte) bool {
		return !pp.dropAnswers.Load() // once lost, the server did the work; the client never hears of it
	})
}
