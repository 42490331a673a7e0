package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/functions/get-orders/paging"
)

// unreachable is a connector that counts the connections asked of it and gives none:
// a handler on it shows whether a request reached the database.
type unreachable struct{ asked atomic.Int64 }

func (u *unreachable) Connect(context.Context) (driver.Conn, error) {
	u.asked.Add(1)
	return nil, errors.New("the database must not be reached")
}
func (u *unreachable) Driver() driver.Driver { return nil }

func withClaims(req events.APIGatewayV2HTTPRequest, claims map[string]string) events.APIGatewayV2HTTPRequest {
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
	}
	return req
}

// TestRefused: every request refused before SQL gets its status and field, and the
// database is never asked for a connection. Hostile values included: quotes, %,
// unicode, control characters, 10,000 characters.
func TestRefused(t *testing.T) {
	u := &unreachable{}
	sqldb := sql.OpenDB(u)
	defer sqldb.Close()
	h := testHandler(sqldb)
	ctx := lambdaCtx(t, 10*time.Second)
	id := "0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1b"
	long := strings.Repeat("a", 10000)
	other := paging.Cursors{Key: []byte("another key")}
	valid := h.cursors.Encode(paging.Position{CreatedAt: t0, OrderID: id}, "u-1")
	flipped := []byte(valid)
	flipped[5] ^= 1
	tests := []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		field  string
	}{
		{"orderId not a UUID", getOne("u-1", "42"), 422, "orderId"},
		{"orderId with a quote", getOne("u-1", "0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1'"), 422, "orderId"},
		{"orderId SQL", getOne("u-1", "' OR '1'='1"), 422, "orderId"},
		{"orderId with %", getOne("u-1", "0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a%%"), 422, "orderId"},
		{"orderId in unicode digits", getOne("u-1", "０１９０b6f2-8a5e-7c3d-9b1a-2f4e6d8c"), 422, "orderId"},
		{"orderId braces", getOne("u-1", "{0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1b}"), 422, "orderId"},
		{"orderId without dashes", getOne("u-1", "0190b6f28a5e7c3d9b1a2f4e6d8c0a1b"), 422, "orderId"},
		{"orderId 10,000 chars", getOne("u-1", long), 422, "orderId"},
		{"orderId empty", getOne("u-1", ""), 422, "orderId"},
		{"orderId with NUL", getOne("u-1", "0190b6f2-8a5e-7c3d-9b1a-2f4e6d8c0a1\x00"), 422, "orderId"},
		{"userId with a quote", getOne("u'1", id), 422, "userId"},
		{"userId with %", getList("u%", nil), 422, "userId"},
		{"userId unicode", getList("usér", nil), 422, "userId"},
		{"userId 10,000 chars", getList(long, nil), 422, "userId"},
		{"userId 65 chars", getList(strings.Repeat("u", 65), nil), 422, "userId"},
		{"limit 0", getList("u-1", map[string]string{"limit": "0"}), 422, "limit"},
		{"limit 101", getList("u-1", map[string]string{"limit": "101"}), 422, "limit"},
		{"limit negative", getList("u-1", map[string]string{"limit": "-1"}), 422, "limit"},
		{"limit +5", getList("u-1", map[string]string{"limit": "+5"}), 422, "limit"},
		{"limit empty", getList("u-1", map[string]string{"limit": ""}), 422, "limit"},
		{"limit repeated", getList("u-1", map[string]string{"limit": "5,6"}), 422, "limit"},
		{"limit SQL", getList("u-1", map[string]string{"limit": "1; DROP TABLE orders"}), 422, "limit"},
		{"limit %", getList("u-1", map[string]string{"limit": "%"}), 422, "limit"},
		{"limit unicode digits", getList("u-1", map[string]string{"limit": "２０"}), 422, "limit"},
		{"limit 10,000 digits", getList("u-1", map[string]string{"limit": strings.Repeat("9", 10000)}), 422, "limit"},
		{"cursor garbage", getList("u-1", map[string]string{"cursor": "abc"}), 422, "cursor"},
		{"cursor with a quote", getList("u-1", map[string]string{"cursor": valid[:20] + "'" + valid[21:]}), 422, "cursor"},
		{"cursor %", getList("u-1", map[string]string{"cursor": "%27%20OR%201%3D1"}), 422, "cursor"},
		{"cursor 10,000 chars", getList("u-1", map[string]string{"cursor": strings.Repeat("A", 10000)}), 422, "cursor"},
		{"cursor with one bit changed", getList("u-1", map[string]string{"cursor": string(flipped)}), 422, "cursor"},
		{"cursor of another user", getList("u-2", map[string]string{"cursor": valid}), 422, "cursor"},
		{"cursor signed with another key", getList("u-1", map[string]string{"cursor": other.Encode(paging.Position{CreatedAt: t0, OrderID: id}, "u-1")}), 422, "cursor"},
		{"cursor empty", getList("u-1", map[string]string{"cursor": ""}), 422, "cursor"},
		{"cursor repeated", getList("u-1", map[string]string{"cursor": valid + "," + valid}), 422, "cursor"},
		{"sub differs from the path user", withClaims(getOne("u-1", id), map[string]string{"sub": "u-2"}), 403, ""},
		{"claims without sub", withClaims(getList("u-1", nil), map[string]string{"scope": "orders"}), 403, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := h.Handle(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			p := decode[problem](t, r)
			if r.StatusCode != tc.status || p.Status != tc.status || r.Headers["Content-Type"] != "application/problem+json" || r.Headers["Cache-Control"] != "no-store" {
				t.Fatalf("%d %v %s, want %d", r.StatusCode, r.Headers, r.Body, tc.status)
			}
			if tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field) {
				t.Fatalf("errors %+v, want one for %s", p.Errors, tc.field)
			}
			if len(r.Body) > 1024 {
				t.Fatalf("answer of %d bytes echoes the input", len(r.Body))
			}
		})
	}
	if n := u.asked.Load(); n != 0 {
		t.Fatalf("refused requests asked the database for %d connections", n)
	}
	// The same handler does reach the database for a good request: the check above
	// can fail.
	if r, _ := h.Handle(ctx, getOne("u-1", id)); r.StatusCode != 503 || u.asked.Load() == 0 {
		t.Fatalf("a good request: %d, %d connections asked", r.StatusCode, u.asked.Load())
	}
}

// With JWT claims the user is sub; the path user may be left for API Gateway's.
func TestUserFromClaims(t *testing.T) {
	forDialects(t, func(t *testing.T, sqldb *sql.DB) {
		h := testHandler(sqldb)
		id := newID(t)
		insert(t, sqldb, stored{table: "orders", id: id, user: "u-1", product: "P", qty: 1, unitPrice: 1, createdAt: t0})
		r, _ := h.Handle(lambdaCtx(t, 10*time.Second), withClaims(getOne("u-1", id), map[string]string{"sub": "u-1"}))
		if r.StatusCode != 200 {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	})
}
