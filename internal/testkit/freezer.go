package testkit

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// A Freezer is a kfake listener whose connections can be black-holed: after Freeze,
// every connection accepted so far drops what it is sent and never answers, while
// writes to it still succeed and no reset is ever sent, as connections opened before a
// freeze may behave after it. Connections accepted later work.
type Freezer struct {
	mu    sync.Mutex
	conns []*conn
}

// Listen returns the kfake option that makes the cluster's broker listen through f
// (for one broker; kfake advertises the listener's address, so clients reach f).
func (f *Freezer) Listen() kfake.Opt {
	return kfake.ListenFn(func(network, addr string) (net.Listener, error) {
		ln, err := net.Listen(network, addr)
		if err != nil {
			return nil, err
		}
		return listener{ln, f}, nil
	})
}

type listener struct {
	net.Listener
	f *Freezer
}

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	fc := &conn{Conn: c}
	l.f.mu.Lock()
	l.f.conns = append(l.f.conns, fc)
	l.f.mu.Unlock()
	return fc, nil
}

// Freeze black-holes every connection accepted so far and returns how many there were.
func (f *Freezer) Freeze() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.mu.Lock()
		c.frozen = true
		c.mu.Unlock()
	}
	n := len(f.conns)
	f.conns = nil
	return n
}

// Accepted returns how many connections were accepted since the last Freeze.
func (f *Freezer) Accepted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

type conn struct {
	net.Conn
	mu     sync.Mutex
	frozen bool
}

func (c *conn) isFrozen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frozen
}

// Read drops what arrives on a frozen connection: the broker never sees the request.
func (c *conn) Read(b []byte) (int, error) {
	for {
		n, err := c.Conn.Read(b)
		if err != nil || !c.isFrozen() {
			return n, err
		}
	}
}

// Write drops the broker's answers on a frozen connection.
func (c *conn) Write(b []byte) (int, error) {
	if c.isFrozen() {
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// FreezeAfterInit is a Lambda environment frozen after init and thawed later: it waits
// up to 5s until init has opened want connections, lets their requests finish, freezes
// them and sleeps for frozen.
func (f *Freezer) FreezeAfterInit(t testing.TB, want int, frozen time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); f.Accepted() < want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("init opened %d connections to the broker within 5s, want %d", f.Accepted(), want)
		}
	}
	time.Sleep(100 * time.Millisecond) // let the warm-up's requests finish
	f.Freeze()
	time.Sleep(frozen)
}
