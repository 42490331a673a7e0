package main

import (
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/functions/get-orders/paging"
)

var t0 = time.Date(2026, 11, 22, 9, 30, 0, 123e6, time.UTC)

func TestGetOne(t *testing.T) {
	forDialects(t, func(t *testing.T, sqldb *sql.DB) {
		h := testHandler(sqldb)
		ctx := lambdaCtx(t, 10*time.Second)
		acc, rej, other := newID(t), newID(t), newID(t)
		insert(t, sqldb,
			stored{table: "orders", id: acc, user: "u-1", product: "CATALOG-0001", qty: 5, unitPrice: 1200, createdAt: t0},
			stored{table: "order_rejections", id: rej, user: "u-1", product: "CATALOG-0002", qty: 1, unitPrice: 999, createdAt: t0.Add(time.Second), reason: `unitPrice 999 is not the catalog's "1200" ✓`},
			stored{table: "orders", id: other, user: "u-2", product: "CATALOG-0001", qty: 1, unitPrice: 1, createdAt: t0},
		)
		r, _ := h.Handle(ctx, getOne("u-1", acc))
		if r.StatusCode != 200 || r.Headers["Content-Type"] != "application/json" || r.Headers["Cache-Control"] != "no-store" {
			t.Fatalf("accepted: %d %v %s", r.StatusCode, r.Headers, r.Body)
		}
		want := `{"orderId":"` + acc + `","userId":"u-1","productId":"CATALOG-0001","qty":5,"unitPrice":1200,"totalPrice":6000,"status":"ACCEPTED","createdAt":"2026-11-22T09:30:00.123Z"}`
		if r.Body != want {
			t.Fatalf("accepted body\n%s\nwant\n%s", r.Body, want)
		}

		r, _ = h.Handle(ctx, getOne("u-1", strings.ToUpper(rej)))
		o := decode[apiOrder](t, r)
		if r.StatusCode != 200 || o.Status != "REJECTED" || o.Reason == nil || *o.Reason != `unitPrice 999 is not the catalog's "1200" ✓` ||
			o.OrderID != rej || o.TotalPrice != 999 || o.CreatedAt != "2026-11-22T09:30:01.123Z" {
			t.Fatalf("rejected (asked in upper case): %d %s", r.StatusCode, r.Body)
		}

		for name, req := range map[string]events.APIGatewayV2HTTPRequest{
			"not stored yet":        getOne("u-1", newID(t)),
			"another user's order":  getOne("u-1", other),
			"own order, other path": getOne("u-2", acc),
		} {
			r, _ := h.Handle(ctx, req)
			p := decode[problem](t, r)
			if r.StatusCode != 404 || r.Headers["Content-Type"] != "application/problem+json" || r.Headers["Cache-Control"] != "no-store" ||
				p.Status != 404 || !strings.Contains(p.Detail, "a moment after its 201") {
				t.Errorf("%s: %d %v %s", name, r.StatusCode, r.Headers, r.Body)
			}
		}
	})
}

// An id in both tables reads as the first one submitted: the earlier created_at, and the
// accepted row on equal times; the list shows it once, the same way.
func TestIDInBothTables(t *testing.T) {
	forDialects(t, func(t *testing.T, sqldb *sql.DB) {
		h := testHandler(sqldb)
		ctx := lambdaCtx(t, 10*time.Second)
		acceptedFirst, rejectedFirst, sameTime := newID(t), newID(t), newID(t)
		both := func(id string, accAt, rejAt time.Time) {
			insert(t, sqldb,
				stored{table: "orders", id: id, user: "u-1", product: "P-ACC", qty: 1, unitPrice: 10, createdAt: accAt},
				stored{table: "order_rejections", id: id, user: "u-1", product: "P-REJ", qty: 2, unitPrice: 10, createdAt: rejAt, reason: "replay with another body"})
		}
		both(acceptedFirst, t0, t0.Add(time.Minute))
		both(rejectedFirst, t0.Add(2*time.Minute), t0.Add(time.Minute))
		both(sameTime, t0.Add(3*time.Minute), t0.Add(3*time.Minute))
		want := map[string]string{acceptedFirst: "ACCEPTED", rejectedFirst: "REJECTED", sameTime: "ACCEPTED"}
		for id, status := range want {
			r, _ := h.Handle(ctx, getOne("u-1", id))
			o := decode[apiOrder](t, r)
			if r.StatusCode != 200 || o.Status != status || (status == "ACCEPTED") != (o.ProductID == "P-ACC") {
				t.Errorf("%s: %d %s, want %s", id, r.StatusCode, r.Body, status)
			}
		}
		r, _ := h.Handle(ctx, getList("u-1", nil))
		p := decode[page](t, r)
		if len(p.Orders) != 3 {
			t.Fatalf("list: %s", r.Body)
		}
		for _, o := range p.Orders {
			if want[o.OrderID] != o.Status {
				t.Errorf("list shows %s as %s, want %s", o.OrderID, o.Status, want[o.OrderID])
			}
		}
	})
}

// listAll pages through user's orders with limit, returning the ids in answer order.
func listAll(t *testing.T, h *Handler, user string, limit int, between func(pageNo int)) []string {
	t.Helper()
	ctx := lambdaCtx(t, time.Minute)
	var ids []string
	q := map[string]string{}
	if limit > 0 {
		q["limit"] = strconv.Itoa(limit)
	}
	for pageNo := 0; ; pageNo++ {
		r, _ := h.Handle(ctx, getList(user, q))
		if r.StatusCode != 200 || r.Headers["Cache-Control"] != "no-store" || r.Headers["Content-Type"] != "application/json" {
			t.Fatalf("page %d: %d %v %s", pageNo, r.StatusCode, r.Headers, r.Body)
		}
		p := decode[page](t, r)
		want := limit
		if want == 0 {
			want = paging.DefaultLimit
		}
		if len(p.Orders) > want || (p.NextCursor != nil && len(p.Orders) != want) {
			t.Fatalf("page %d: %d orders with limit %d, cursor %v", pageNo, len(p.Orders), want, p.NextCursor)
		}
		for _, o := range p.Orders {
			if o.UserID != user {
				t.Fatalf("page %d shows %s of %s", pageNo, o.OrderID, o.UserID)
			}
			ids = append(ids, o.OrderID)
		}
		if p.NextCursor == nil {
			return ids
		}
		if between != nil {
			between(pageNo)
		}
		q["cursor"] = *p.NextCursor
	}
}

// seed stores n orders of user, one in five rejected, several sharing one created_at,
// and returns their ids newest first.
func seed(t testing.TB, sqldb *sql.DB, user string, n int, base time.Time) []string {
	t.Helper()
	type kv struct {
		at time.Time
		id string
	}
	var all []kv
	for i := range n {
		at := base.Add(time.Duration(i/3) * time.Second) // three orders per instant
		s := stored{table: "orders", id: newID(t), user: user, product: "CATALOG-0001", qty: int64(i + 1), unitPrice: 100, createdAt: at}
		if i%5 == 0 {
			s.table, s.reason = "order_rejections", "qty over the catalog's limit"
		}
		insert(t, sqldb, s)
		all = append(all, kv{at, s.id})
	}
	slices.SortFunc(all, func(a, b kv) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(b.id, a.id)
	})
	ids := make([]string, len(all))
	for i, x := range all {
		ids[i] = x.id
	}
	return ids
}

func TestList(t *testing.T) {
	forDialects(t, func(t *testing.T, sqldb *sql.DB) {
		h := testHandler(sqldb)
		want := seed(t, sqldb, "u-1", 45, t0)
		seed(t, sqldb, "u-2", 7, t0)
		for _, limit := range []int{0, 1, 7, 20, 45, 100} {
			t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
				if got := listAll(t, h, "u-1", limit, nil); !slices.Equal(got, want) {
					t.Fatalf("ids\n%v\nwant\n%v", got, want)
				}
			})
		}
		r, _ := h.Handle(lambdaCtx(t, time.Minute), getList("nobody", nil))
		if r.StatusCode != 200 || r.Body != `{"orders":[]}` {
			t.Fatalf("no orders: %d %s", r.StatusCode, r.Body)
		}
	})
}

// TestListWhileOrdersArrive pages while newer and older orders are stored between pages
// (the sink writes late orders too): each order stored before paging began is shown
// exactly once, in order, and none twice.
func TestListWhileOrdersArrive(t *testing.T) {
	forDialects(t, func(t *testing.T, sqldb *sql.DB) {
		h := testHandler(sqldb)
		want := seed(t, sqldb, "u-1", 50, t0)
		got := listAll(t, h, "u-1", 7, func(pageNo int) {
			seed(t, sqldb, "u-1", 2, t0.Add(time.Hour+time.Duration(pageNo)*time.Second)) // newer than everything
			seed(t, sqldb, "u-1", 1, t0.Add(-time.Hour))                                  // older: still ahead of the cursor
		})
		seen := map[string]bool{}
		var original []string
		isOriginal := map[string]bool{}
		for _, id := range want {
			isOriginal[id] = true
		}
		for _, id := range got {
			if seen[id] {
				t.Fatalf("%s shown twice", id)
			}
			seen[id] = true
			if isOriginal[id] {
				original = append(original, id)
			}
		}
		if !slices.Equal(original, want) {
			t.Fatalf("original orders as paged\n%v\nwant\n%v", original, want)
		}
		if len(got) <= len(want) {
			t.Fatalf("the older orders stored while paging were not reached: %d ids", len(got))
		}
	})
}
