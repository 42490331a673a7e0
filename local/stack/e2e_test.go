package stack_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/ordersync/ordersync/internal/testkit"
)

// The e2e test runs the ordersync CLI as its own process against the MariaDB server on
// 127.0.0.1:3306 (a fresh database per run), with real function processes and the
// embedded broker, and checks what reaches the tables through real HTTP requests,
// including across a SIGKILL of the whole stack.

func TestEndToEnd(t *testing.T) {
	testkit.Long(t, "end-to-end test")
	testDB := testkit.MariaDB(t, "e2e")
	db := testDB.SQL

	st := newStack(t, "DATABASE_URL="+testDB.URL, "CATALOG_FILE="+catalogFile(t), "LOG_LEVEL=warn")
	start := time.Now()
	st.start()
	t.Logf("stack up in %s", time.Since(start).Round(time.Millisecond))
	c := st.client()

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
	if resp, _ := c.send(t, http.MethodDelete, "/order-service/u-1/orders"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("DELETE, a method no route has: %d, want 404", resp.StatusCode)
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
		wg.Go(func() {
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
		})
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
	ids := orders.ids()
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
