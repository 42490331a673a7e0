package stack_test

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/testkit"
)

// The harness of the end-to-end tests: the ordersync CLI run as its own process on free
// ports, an HTTP client of its gateway, and waits on the tables it writes.

// eventually is a liveness bound for asynchronous work, not a speed assertion.
const eventually = 2 * time.Minute

// newStack returns a stack, not yet started, of the CLI built from this tree (once per
// test binary): on free ports, with its log and data in a directory t removes, and env
// added to its environment. It is killed when the test ends, before what the test set
// up earlier (its database) is removed.
func newStack(t *testing.T, env ...string) *stackProc {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	st := &stackProc{
		t: t, bin: testkit.Build(t, "github.com/ordersync/ordersync/cmd/ordersync"), dir: root, log: filepath.Join(work, "stack.log"),
		http: testkit.FreeAddr(t), kafka: testkit.FreeAddr(t), data: filepath.Join(work, "data"), env: env,
	}
	t.Cleanup(st.kill)
	return st
}

// catalogFile writes a catalog of one product, CATALOG-0001 at 1200 (at most 100 a
// line), and returns its path.
func catalogFile(t *testing.T) string {
	t.Helper()
	catalog := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(catalog, []byte(`{"CATALOG-0001": {"unitPrice": 1200, "maxQty": 100}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return catalog
}

func TestMain(m *testing.M) { testkit.Main(m) }

// waitRows waits until table holds exactly the rows of ids, one each, and nothing else.
func waitRows(t *testing.T, db *sql.DB, table string, ids []string) {
	t.Helper()
	want := slices.Clone(ids)
	slices.Sort(want)
	deadline := time.Now().Add(eventually)
	var got []string
	for {
		got = got[:0]
		rows, err := db.Query("SELECT order_id FROM `" + table + "` ORDER BY order_id")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
		}
		rows.Close()
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		var lost, extra []string
		for _, id := range want {
			if _, ok := slices.BinarySearch(got, id); !ok {
				lost = append(lost, id)
			}
		}
		for _, id := range got {
			if _, ok := slices.BinarySearch(want, id); !ok {
				extra = append(extra, id)
			}
		}
		t.Fatalf("table %s: %d rows, want %d; missing %v; unexpected %v", table, len(got), len(want), lost, extra)
	}
}

type stackProc struct {
	t                 *testing.T
	bin, dir, log     string
	http, kafka, data string
	env               []string
	mu                sync.Mutex
	cmd               *exec.Cmd
	done              chan struct{}
}

func (s *stackProc) start() {
	s.t.Helper()
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(s.bin, "--http", s.http, "--kafka", s.kafka, "--data", s.data)
	cmd.Dir = s.dir
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "KAFKA_") || strings.HasPrefix(kv, "DATABASE_URL=") || strings.HasPrefix(kv, "LOG_LEVEL=")
	})
	cmd.Env = append(cmd.Env, s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(eventually)
	for {
		resp, err := http.Get("http://" + s.http + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-done:
			s.t.Fatalf("stack exited while starting: %v\n%s", cmd.ProcessState, s.tail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("stack not answering on %s within %s\n%s", s.http, eventually, s.tail())
		}
	}
}

func (s *stackProc) sigkill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

func (s *stackProc) interrupt() int {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(eventually):
		cmd.Process.Kill()
		<-done
	}
	return cmd.ProcessState.ExitCode()
}

func (s *stackProc) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
	default:
		cmd.Process.Kill()
		<-done
	}
	if s.t.Failed() {
		s.t.Logf("stack log:\n%s", s.tail())
	}
}

// client is an HTTP client of the stack's gateway.
func (s *stackProc) client() *client {
	return &client{base: "http://" + s.http, http: &http.Client{Timeout: 30 * time.Second}}
}

func (s *stackProc) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Pid
}

func (s *stackProc) tail() string {
	b, _ := os.ReadFile(s.log)
	lines := strings.Split(string(b), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

// ledger is what the clients were told: Idempotency-Key → order id of the 201s.
type ledger struct {
	mu      sync.Mutex
	created map[string]string
}

// postUntilCreated posts an order until it is answered 201, as a client of API Gateway
// retries with its Idempotency-Key, and records the order id; a repeated key must keep
// its id. A 5xx or a transport error is retried after pause, up to attempts times; any
// other answer is a test error. each, when set, sees every answer.
func (l *ledger) postUntilCreated(t *testing.T, c *client, user, key, body string, attempts int, pause time.Duration, each func(answer, error)) {
	for attempt := 0; ; attempt++ {
		r, err := c.try(user, key, body)
		if each != nil {
			each(r, err)
		}
		if err == nil && r.status == http.StatusCreated {
			l.mu.Lock()
			if prev, ok := l.created[key]; ok && prev != r.order.OrderID {
				t.Errorf("key %s answered %s, then %s", key, prev, r.order.OrderID)
			}
			l.created[key] = r.order.OrderID
			l.mu.Unlock()
			return
		}
		if err == nil && r.status < 500 {
			t.Errorf("order %s: %d %s", key, r.status, r.body)
			return
		}
		if attempt > attempts {
			t.Errorf("order %s: no 201 after %d attempts (%v)", key, attempt, err)
			return
		}
		time.Sleep(pause)
	}
}

// ids are the order ids answered 201, one a key.
func (l *ledger) ids() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Collect(maps.Values(l.created))
}

type client struct {
	base string
	http *http.Client
}

type answer struct {
	status   int
	body     string
	location string
	order    struct {
		OrderID    string `json:"orderId"`
		UserID     string `json:"userId"`
		Status     string `json:"status"`
		TotalPrice int64  `json:"totalPrice"`
	}
}

func (c *client) try(user, key, body string) (answer, error) {
	req, err := http.NewRequest(http.MethodPost, c.base+"/order-service/"+user+"/orders", strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, b, err := c.do(req)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode, body: string(bytes.TrimSpace(b)), location: resp.Header.Get("Location")}
	if resp.StatusCode == http.StatusCreated {
		if err := json.Unmarshal(b, &a.order); err != nil {
			return a, fmt.Errorf("201 body %q: %w", b, err)
		}
	}
	return a, nil
}

// do sends req and reads the whole answer.
func (c *client) do(req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func (c *client) post(t *testing.T, user, key, body string) answer {
	t.Helper()
	a, err := c.try(user, key, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// send sends a request without a body to path and returns the answer, read whole.
func (c *client) send(t *testing.T, method, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, b, err := c.do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("no randomness"))
	}
	return hex.EncodeToString(b)
}
