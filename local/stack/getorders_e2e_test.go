package stack_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/testkit"
)

// TestGetOrdersEndToEnd reads orders back through the stack's gateway, from the database
// the sink writes: MariaDB with DATABASE_URL, the SQLite file without it. A client
// posts, then GETs the 201's Location until it is there; a rejected order reads as
// REJECTED with its reason; another user's order is not visible; pages stay exact while
// new orders arrive.
func TestGetOrdersEndToEnd(t *testing.T) {
	testkit.Long(t, "end-to-end test")
	for _, tc := range []struct {
		name string
		env  func(t *testing.T) []string
	}{
		{"mariadb", func(t *testing.T) []string {
			return []string{"DATABASE_URL=" + testkit.MariaDB(t, "getorders_e2e").URL}
		}},
		{"sqlite", func(t *testing.T) []string { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStack(t, append(tc.env(t), "CATALOG_FILE="+catalogFile(t), "LOG_LEVEL=warn")...)
			st.start()
			c := st.client()
			readBack(t, c)
			pageWhileArriving(t, c)
		})
	}
}

type readOrder struct {
	OrderID, UserID, ProductID, Status, CreatedAt string
	Qty, UnitPrice, TotalPrice                    int64
	Reason                                        *string
}

type got struct {
	status  int
	header  http.Header
	body    []byte
	order   readOrder
	orders  []readOrder
	next    string
	problem struct{ Detail string }
}

func (c *client) get(t *testing.T, path string) got {
	t.Helper()
	resp, b := c.send(t, http.MethodGet, path)
	g := got{status: resp.StatusCode, header: resp.Header, body: b}
	var v struct {
		readOrder
		Orders     []readOrder
		NextCursor string
	}
	into := any(&v)
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		into = &g.problem
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("GET %s: %d %s: %v", path, resp.StatusCode, b, err)
	}
	g.order, g.orders, g.next = v.readOrder, v.Orders, v.NextCursor
	return g
}

// getUntilFound GETs path until it answers 200, as a client does after a 201; every
// answer before is the documented 404.
func (c *client) getUntilFound(t *testing.T, path string) got {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for {
		g := c.get(t, path)
		if g.status == http.StatusOK {
			if g.header.Get("Content-Type") != "application/json" || g.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("GET %s headers %v", path, g.header)
			}
			return g
		}
		if g.status != http.StatusNotFound || g.header.Get("Cache-Control") != "no-store" || !strings.Contains(g.problem.Detail, "a moment after its 201") {
			t.Fatalf("GET %s before it is stored: %d %v %s, want 404 no-store", path, g.status, g.header, g.body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: still 404 after %s", path, eventually)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readBack(t *testing.T, c *client) {
	a := c.post(t, "u-a", "", `{"productId":"CATALOG-0001","qty":3,"unitPrice":1200}`)
	if a.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", a.status, a.body)
	}
	g := c.getUntilFound(t, a.location)
	if o := g.order; o.OrderID != a.order.OrderID || o.UserID != "u-a" || o.Status != "ACCEPTED" || o.TotalPrice != 3600 || o.Reason != nil {
		t.Fatalf("accepted order read back: %s", g.body)
	}
	r := c.post(t, "u-a", "", `{"productId":"CATALOG-0001","qty":1,"unitPrice":999}`)
	if r.status != http.StatusCreated {
		t.Fatalf("POST of an order to be rejected: %d %s", r.status, r.body)
	}
	g = c.getUntilFound(t, r.location)
	if o := g.order; o.Status != "REJECTED" || o.Reason == nil || *o.Reason == "" {
		t.Fatalf("rejected order read back: %s", g.body)
	}
	if g := c.get(t, "/order-service/u-b/orders/"+a.order.OrderID); g.status != http.StatusNotFound {
		t.Fatalf("another user's order: %d %s, want 404", g.status, g.body)
	}
	for _, q := range []string{"limit=0", "limit=101", "cursor=forged", "limit=%27"} {
		if g := c.get(t, "/order-service/u-a/orders?"+q); g.status != http.StatusUnprocessableEntity {
			t.Errorf("?%s: %d %s, want 422", q, g.status, g.body)
		}
	}
	if g := c.get(t, "/order-service/u-a/orders/not-a-uuid"); g.status != http.StatusUnprocessableEntity {
		t.Errorf("orderId not a UUID: %d %s, want 422", g.status, g.body)
	}
}

// pageWhileArriving stores 12 orders, then pages through them 5 at a time while new
// orders are posted between pages: each of the 12 shows exactly once, newest first.
func pageWhileArriving(t *testing.T, c *client) {
	const user = "u-pages"
	post := func() string {
		a := c.post(t, user, "", `{"productId":"CATALOG-0001","qty":1,"unitPrice":1200}`)
		if a.status != http.StatusCreated {
			t.Fatalf("POST: %d %s", a.status, a.body)
		}
		return a.order.OrderID
	}
	var before []string
	for range 12 {
		id := post()
		c.getUntilFound(t, "/order-service/"+user+"/orders/"+id)
		before = append(before, id)
	}
	slices.Reverse(before) // newest first
	var seen []string
	path := "/order-service/" + user + "/orders?limit=5"
	for pages := 0; ; pages++ {
		g := c.get(t, path)
		if g.status != http.StatusOK || len(g.orders) > 5 || pages > 10 {
			t.Fatalf("page %d: %d %s", pages, g.status, g.body)
		}
		for _, o := range g.orders {
			seen = append(seen, o.OrderID)
		}
		if g.next == "" {
			break
		}
		post()
		path = "/order-service/" + user + "/orders?limit=5&cursor=" + url.QueryEscape(g.next)
	}
	if !slices.Equal(seen, before) {
		t.Fatalf("paged ids\n%v\nwant, newest first,\n%v", seen, before)
	}
	t.Logf("%d orders paged while more arrived", len(seen))
}
