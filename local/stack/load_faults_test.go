package stack_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/testkit"
)

// TestLoadThroughCrashes is a bounded load test of the whole local stack as separate
// processes: clients post orders over HTTP, some repeating an earlier Idempotency-Key,
// while the function processes are killed with SIGKILL mid-invocation (twice, at a
// quarter and three quarters of the orders) and, half-way, the stack itself — its sink
// consuming and writing batches as the orders stream in — is killed with SIGKILL and
// restarted. Clients retry every answer that is not a 201 with the same key, as a client
// of API Gateway would. It ends with an exact reconciliation: the set of order ids
// answered 201 equals the set of rows in the orders table.
//
// ORDERSYNC_LOAD_ORDERS and ORDERSYNC_LOAD_CLIENTS set the size (default 5,000 orders
// from 32 clients, to fit the test suite's time on a small machine; the full run is
// ORDERSYNC_LOAD_ORDERS=50000).
func TestLoadThroughCrashes(t *testing.T) {
	testkit.Long(t, "load test")
	total := envInt(t, "ORDERSYNC_LOAD_ORDERS", 5000)
	clients := envInt(t, "ORDERSYNC_LOAD_CLIENTS", 32)

	// The database is dropped after every other cleanup (the stack's kill among them),
	// and a failed drop fails the test.
	testDB := testkit.MariaDB(t, "load")
	db := testDB.SQL

	st := newStack(t, "DATABASE_URL="+testDB.URL, "CATALOG_FILE="+catalogFile(t), "LOG_LEVEL=error")
	st.start()
	c := st.client()

	run := randomHex(4)
	var (
		next      atomic.Int64
		done      atomic.Int64
		sent      atomic.Int64 // HTTP requests, retries and repeats included
		repeats   atomic.Int64
		mu        sync.Mutex
		orders    = ledger{created: map[string]string{}}
		statuses  = map[string]int{}
		milestone = make(chan int64, 8)
		wg        sync.WaitGroup
	)
	marks := []int64{int64(total) / 4, int64(total) / 2, 3 * int64(total) / 4}
	send := func(user, key, body string) {
		orders.postUntilCreated(t, c, user, key, body, 3000, 20*time.Millisecond, func(r answer, err error) {
			sent.Add(1)
			mu.Lock()
			if err != nil {
				statuses["transport error"]++
			} else {
				statuses[strconv.Itoa(r.status)]++
			}
			mu.Unlock()
		})
	}
	start := time.Now()
	for w := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			user := fmt.Sprintf("load-%d", w)
			var mine []string
			for {
				// One request in ten repeats one of this client's earlier keys.
				if len(mine) > 0 && rng.IntN(10) == 0 {
					repeats.Add(1)
					key := mine[rng.IntN(len(mine))]
					send(user, key, loadBody(key))
					continue
				}
				i := next.Add(1)
				if i > int64(total) {
					return
				}
				key := fmt.Sprintf("load-%s-%d", run, i)
				mine = append(mine, key)
				send(user, key, loadBody(key))
				n := done.Add(1)
				if slices.Contains(marks, n) {
					milestone <- n
				}
			}
		})
	}

	var killed []string
	for range marks {
		n := <-milestone
		switch n {
		case marks[1]:
			st.sigkill()
			killed = append(killed, fmt.Sprintf("the stack with its sink after %d orders", n))
			st.start()
		default:
			pids := childPIDs(t, st.pid())
			if len(pids) == 0 {
				t.Errorf("no function processes to kill after %d orders", n)
			}
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			killed = append(killed, fmt.Sprintf("%d function processes after %d orders", len(pids), n))
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	elapsed := time.Since(start)
	ids := orders.ids()
	if len(ids) != total {
		t.Fatalf("%d distinct orders answered 201, want %d", len(ids), total)
	}
	waitRows(t, db, "orders", ids)
	var rows, distinct int
	if err := db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT order_id) FROM orders").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed: %s", strings.Join(killed, "; "))
	t.Logf("%d orders from %d clients, %d requests (%d repeated keys, retries included), answers %v", total, clients, sent.Load(), repeats.Load(), statuses)
	t.Logf("reconciled: %d ids answered 201, %d rows, %d distinct: lost %d, doubled %d; %s to the last row (%.0f orders/s through the kills)",
		len(ids), rows, distinct, len(ids)-distinct, rows-distinct, time.Since(start).Round(time.Millisecond), float64(total)/elapsed.Seconds())
	if code := st.interrupt(); code != 0 {
		t.Errorf("stack exited %d after SIGINT, want 0\n%s", code, st.tail())
	}
}

// loadBody is the order body of a key: a repeated key sends the same body.
func loadBody(key string) string {
	var h uint32
	for i := 0; i < len(key); i++ {
		h = h*31 + uint32(key[i])
	}
	return fmt.Sprintf(`{"productId":"CATALOG-0001","qty":%d,"unitPrice":1200}`, 1+h%20)
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// childPIDs lists the processes whose parent is pid: the stack's function processes.
func childPIDs(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc to find the function processes: %v", err)
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}
