package testkit

import (
	"io"
	"net"
	"testing"
	"time"
)

// echoServer answers every packet with the same bytes: the proxy only forwards bytes,
// so it stands in for MariaDB.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// packet is a client packet of command cmd with text: a 4-byte header, then cmd.
func packet(cmd byte, text string) []byte {
	return append([]byte{byte(len(text) + 1), 0, 0, 0, cmd}, text...)
}

// roundTrip sends b on c and reads its echo; ok is false when the answer does not come
// within wait or the connection is cut.
func roundTrip(c net.Conn, b []byte, wait time.Duration) (ok bool) {
	if _, err := c.Write(b); err != nil {
		return false
	}
	return answered(c, b, wait)
}

// answered reads b's echo on c within wait.
func answered(c net.Conn, b []byte, wait time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(wait))
	got := make([]byte, len(b))
	_, err := io.ReadFull(c, got)
	return err == nil && string(got) == string(b)
}

func TestDBProxy(t *testing.T) {
	target := echoServer(t)
	p := NewDBProxy(t, target)
	if got := p.URL("mysql://root@" + target + "/test"); got != "mysql://root@"+p.Addr()+"/test" {
		t.Errorf("URL = %s", got)
	}
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	commit, insert := packet(ComQuery, "commit"), packet(ComStmtExecute, "")

	c := dial()
	if !roundTrip(c, commit, time.Second) {
		t.Fatal("no answer through the proxy")
	}
	rule := p.Add(Command(ComQuery, "COMMIT"), CutBefore, 1)
	if roundTrip(c, commit, time.Second) {
		t.Error("CutBefore: the command was answered")
	}
	if rule.Count() != 1 || len(rule.Hits()) != 1 {
		t.Errorf("CutBefore: %d hits, %d notified; want 1", rule.Count(), len(rule.Hits()))
	}
	c = dial()
	if !roundTrip(c, commit, time.Second) {
		t.Error("a rule of 1 acted twice")
	}

	p.Add(Command(ComStmtExecute, ""), CutAfter, 1)
	if roundTrip(c, insert, time.Second) {
		t.Error("CutAfter: the answer came through")
	}

	c = dial()
	stall := p.Add(Command(ComQuery, ""), Stall, -1)
	if roundTrip(c, commit, 200*time.Millisecond) {
		t.Error("Stall: the command was answered before its release")
	}
	stall.Release()
	if !answered(c, commit, time.Second) || !roundTrip(c, commit, time.Second) {
		t.Error("Stall: no answer after the release")
	}

	p.Cut()
	if roundTrip(c, insert, time.Second) {
		t.Error("Cut: the connection still answers")
	}
	p.Restart()
	if roundTrip(dial(), insert, time.Second) {
		t.Error("Restart: a new connection was answered")
	}
	p.Up()
	if !roundTrip(dial(), insert, time.Second) {
		t.Error("Up: no answer")
	}
	if p.Accepted() < 4 {
		t.Errorf("%d connections accepted, want at least 4", p.Accepted())
	}
}
