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
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/ordersync/ordersync/internal/testkit"
)

// The e2e test runs the ordersync CLI as its own process against the MariaDB server on
// 127.0.0.1:3306 (a fresh database per run), with real function processes and the
// embedded broker, and checks what reaches the tables through real HTTP requests,
// including across a SIGKILL of the whole stack.

// eventually is a liveness bound for asynchronous work, not a speed assertion.
const eventually = 2 * time.Minute

func TestEndToEnd(t *testing.T) {
	testkit.Long(t, "end-to-end test")
	testDB := testkit.MariaDB(t, "e2e")
	db := testDB.SQL

	st := newStack(t, "DATABASE_URL="+testDB.URL, "CATALOG_FILE="+catalogFile(t), "LOG_LEVEL=warn")
	start := time.Now()
	st.start()
	t.Cleanup(st.kill)
	t.Logf("stack up in %s", time.Since(start).Round(time.Millisecond))
	base := "http://" + st.http
	c := &client{base: base, http: &http.Client{Timeout: 30 * time.Second}}

	// 1. The HTTP contract through the gateway.
	run := randomHex(4)
	var accepted []string
	for i := range 10 {
		resp := c.post(t, fmt.Sprintf("u-%d", i%3), "", `{"productId":"CATALOG-0001","qty":2,"unitPrice":1200}`)
		if resp.status != http.StatusCreated {
			t.Fatalf("valid order: %d %s", resp.status, resp.body)
		}
		if resp.order.Status != "PENDING" || resp.order.TotalPrice != 2400 || resp.location != "/order-service/"+resp.order.UserID+"/orders/"+resp.order.OrderID {
			t.Errorf("201 answer: %+v, Location %q", resp.order, resp.location)
		}
		accepted = append(accepted, resp.order.OrderID)
	}
	key := "e2e-" + run
	first := c.post(t, "u-idem", key, `{"productId":"CATALOG-0001","qty":1,"unitPrice":1200}`)
	again := c.post(t, "u-idem", key, `{"productId":"CATALOG-0001","qty":1,"unitPrice":1200}`)
	if first.status != 201 || again.status != 201 || first.order.OrderID != again.order.OrderID {
		t.Fatalf("idempotent repeat: %d %s / %d %s", first.status, first.order.OrderID, again.status, again.order.OrderID)
	}
	accepted = append(accepted, first.order.OrderID)

	invalid := c.post(t, "u-1", "", `{"productId":"CATALOG-0001","qty":0,"unitPrice":1200}`)
	if invalid.status != http.StatusUnprocessableEntity || !strings.Contains(invalid.body, `"errors"`) {
		t.Errorf("qty 0: %d %s, want 422 with errors", invalid.status, invalid.body)
	}
	if r := c.post(t, "u-1", "", `{"productId":`); r.status != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d, want 400", r.status)
	}
	if r := c.raw(t, http.MethodDelete, "/order-service/u-1/orders"); r != http.StatusNotFound {
		t.Errorf("DELETE, a method no route has: %d, want 404", r)
	}
	// create-order accepts any well-formed order; validate-order rejects a price that is
	// not the catalog's.
	rej := c.post(t, "u-2", "", `{"productId":"CATALOG-0001","qty":1,"unitPrice":999}`)
	if rej.status != http.StatusCreated {
		t.Fatalf("order to be rejected: %d %s", rej.status, rej.body)
	}
	rejected := []string{rej.order.OrderID}

	waitRows(t, db, "orders", accepted)
	waitRows(t, db, "order_rejections", rejected)
	var status, reason string
	if err := db.QueryRow("SELECT status, COALESCE(reason, '') FROM order_rejections WHERE order_id = ?", rej.order.OrderID).Scan(&status, &reason); err != nil {
		t.Fatal(err)
	}
	if status != "REJECTED" || reason == "" {
		t.Errorf("rejection row: status %q, reason %q", status, reason)
	}
	t.Logf("HTTP contract and tables checked at %s", time.Since(start).Round(time.Millisecond))

	// 2. SIGKILL the whole stack mid-stream and restart it: clients retry with their
	// Idempotency-Key until they get a 201, as a client of API Gateway would.
	const total, workers = 150, 4
	var (
		next   atomic.Int64
		orders = ledger{created: map[string]string{}}
		killed = make(chan struct{})
		wg     sync.WaitGroup
	)
	streamStart := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				key := fmt.Sprintf("kill-%s-%d", run, i)
				body := fmt.Sprintf(`{"productId":"CATALOG-0001","qty":%d,"unitPrice":1200}`, 1+i%5)
				orders.postUntilCreated(t, c, fmt.Sprintf("u-k%d", i%7), key, body, 2000, 50*time.Millisecond, nil)
				if i == total/3 {
					close(killed)
				}
			}
		}()
	}
	<-killed
	orders.mu.Lock()
	answered := len(orders.created)
	orders.mu.Unlock()
	var rowsAtKill int
	if err := db.QueryRow("SELECT COUNT(*) FROM orders WHERE user_id LIKE 'u-k%'").Scan(&rowsAtKill); err != nil {
		t.Fatal(err)
	}
	st.sigkill()
	t.Logf("stack killed (SIGKILL) mid-stream: %d orders answered 201, %d of them rows yet, %d requests in flight", answered, rowsAtKill, workers-1)
	restart := time.Now()
	st.start()
	t.Logf("stack restarted in %s", time.Since(restart).Round(time.Millisecond))
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ids := make([]string, 0, len(orders.created))
	for _, id := range orders.created {
		ids = append(ids, id)
	}
	if len(ids) != total {
		t.Fatalf("%d orders answered 201, want %d", len(ids), total)
	}
	waitRows(t, db, "orders", append(slices.Clone(accepted), ids...))
	elapsed := time.Since(streamStart)
	t.Logf("%d orders through a SIGKILL and restart: every 201 has exactly one row, %s from first request to last row (%.0f orders/s including the restart)",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())

	// 3. Ctrl-C drains and exits 0.
	if code := st.interrupt(); code != 0 {
		t.Errorf("stack exited %d after SIGINT, want 0\n%s", code, st.tail())
	}
	t.Logf("end-to-end test took %s", time.Since(start).Round(time.Millisecond))
}

// newStack returns a stack, not yet started, of the CLI built from this tree: on free
// ports, with its log and data in a directory t removes, and env added to its
// environment.
func newStack(t *testing.T, env ...string) *stackProc {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	return &stackProc{
		t: t, bin: buildLocal(t, root), dir: root, log: filepath.Join(work, "stack.log"),
		http: freeAddr(t), kafka: freeAddr(t), data: filepath.Join(work, "data"), env: env,
	}
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

// buildLocal builds ./cmd/ordersync once per test binary.
func buildLocal(t *testing.T, root string) string {
	t.Helper()
	return testkit.Build(t, "github.com/ordersync/ordersync/cmd/ordersync")
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
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
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

func (c *client) post(t *testing.T, user, key, body string) answer {
	t.Helper()
	a, err := c.try(user, key, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (c *client) raw(t *testing.T, method, path string) int {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func freeAddr(t *testing.T) string {
	t.Helper()
	return testkit.FreeAddr(t)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("no randomness"))
	}
	return hex.EncodeToString(b)
}
