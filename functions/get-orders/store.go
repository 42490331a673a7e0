package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ordersync/ordersync/functions/get-orders/paging"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/ordersync/ordersync/shared/order"
)

// An order id in both tables (a replay with another body accepted once and rejected
// once) reads as the first one submitted: the row with the earlier created_at wins, and
// on equal times the accepted row. The other row is not shown, in one order's answer
// and in the list alike. Both queries say it with the same two NOT EXISTS clauses, so
// the list and the one-order answer always agree.
const (
	columns = "order_id, user_id, product_id, qty, unit_price, total_price, created_at, reason"

	acceptedWins = "NOT EXISTS (SELECT 1 FROM order_rejections r WHERE r.order_id = o.order_id AND r.created_at < o.created_at)"
	rejectedWins = "NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = r.order_id AND o.created_at <= r.created_at)"

	// oneSQL reads one order of one user: args id, user, id, user.
	oneSQL = "SELECT " + columns + ", 0 AS rejected FROM orders o WHERE o.order_id = ? AND o.user_id = ? AND " + acceptedWins +
		" UNION ALL SELECT " + columns + ", 1 FROM order_rejections r WHERE r.order_id = ? AND r.user_id = ? AND " + rejectedWins

	// before is the keyset condition: rows strictly after the cursor, newest first.
	beforeO = "(o.created_at < ? OR (o.created_at = ? AND o.order_id < ?))"
	beforeR = "(r.created_at < ? OR (r.created_at = ? AND r.order_id < ?))"

	// listSQL reads a page of one user's orders from both tables, each side walking its
	// (user_id, created_at, order_id) index backwards from the cursor and stopping at the
	// page size, then merged: args user, t, t, id, n, user, t, t, id, n, n.
	listSQL = "SELECT * FROM (SELECT " + columns + ", 0 AS rejected FROM orders o WHERE o.user_id = ? AND " + beforeO +
		" AND " + acceptedWins + " ORDER BY o.created_at DESC, o.order_id DESC LIMIT ?) a" +
		" UNION ALL SELECT * FROM (SELECT " + columns + ", 1 AS rejected FROM order_rejections r WHERE r.user_id = ? AND " + beforeR +
		" AND " + rejectedWins + " ORDER BY r.created_at DESC, r.order_id DESC LIMIT ?) b" +
		" ORDER BY created_at DESC, order_id DESC LIMIT ?"
)

// start is the position before every order: the first page's cursor.
var start = paging.Position{CreatedAt: time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)}

// row is one stored order as the API shows it.
type row struct {
	orderID, userID, productID string
	qty, unitPrice, totalPrice int64
	createdAt                  storedTime
	reason                     sql.NullString
	rejected                   bool
}

func (r *row) scan(s interface{ Scan(...any) error }) error {
	err := s.Scan(&r.orderID, &r.userID, &r.productID, &r.qty, &r.unitPrice, &r.totalPrice, &r.createdAt, &r.reason, &r.rejected)
	if err != nil && strings.HasPrefix(err.Error(), "sql: Scan error") {
		return fmt.Errorf("%w: %w", errStored, err)
	}
	return err
}

// Errors of one and list.
var (
	errNotFound = errors.New("order not found")                           // one: the user has no such order (yet)
	errStored   = errors.New("stored row does not fit the order columns") // a row that cannot be read: a lasting fault
)

// one reads the order id of user.
func one(ctx context.Context, db *sql.DB, user, id string) (row, error) {
	var r row
	err := r.scan(db.QueryRowContext(ctx, oneSQL, id, user, id, user))
	if errors.Is(err, sql.ErrNoRows) {
		return r, errNotFound
	}
	return r, err
}

// list reads up to limit+1 orders of user after p (the extra row says whether there is
// a next page) into rows.
func list(ctx context.Context, db *sql.DB, user string, p paging.Position, limit int, rows []row) ([]row, error) {
	if p.Zero() {
		p = start
	}
	n := limit + 1
	rs, err := db.QueryContext(ctx, listSQL, user, p.CreatedAt, p.CreatedAt, p.OrderID, n,
		user, p.CreatedAt, p.CreatedAt, p.OrderID, n, n)
	if err != nil {
		return rows, err
	}
	defer rs.Close()
	for rs.Next() {
		var r row
		if err := r.scan(rs); err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, rs.Err()
}

// appendJSON appends r as the API's order object.
func (r *row) appendJSON(b []byte) []byte {
	b = append(b, `{"orderId":`...)
	b = envelope.AppendString(b, r.orderID)
	b = append(b, `,"userId":`...)
	b = envelope.AppendString(b, r.userID)
	b = append(b, `,"productId":`...)
	b = envelope.AppendString(b, r.productID)
	b = append(b, `,"qty":`...)
	b = strconv.AppendInt(b, r.qty, 10)
	b = append(b, `,"unitPrice":`...)
	b = strconv.AppendInt(b, r.unitPrice, 10)
	b = append(b, `,"totalPrice":`...)
	b = strconv.AppendInt(b, r.totalPrice, 10)
	if r.rejected {
		b = append(b, `,"status":"`+order.Rejected+`"`...)
	} else {
		b = append(b, `,"status":"`+order.Accepted+`"`...)
	}
	b = append(b, `,"createdAt":"`...)
	b = r.createdAt.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, '"')
	if r.rejected {
		b = append(b, `,"reason":`...)
		b = envelope.AppendString(b, r.reason.String)
	}
	return append(b, '}')
}

// storedTime scans a DATETIME(3) column: a time.Time from MySQL (parseTime), text from
// SQLite, where the sink's driver writes "2006-01-02 15:04:05.999999999-07:00".
type storedTime struct{ time.Time }

func (t *storedTime) Scan(v any) error {
	x, err := db.ScanTime(v)
	if err != nil {
		return fmt.Errorf("created_at: %w", err)
	}
	t.Time = x
	return nil
}
