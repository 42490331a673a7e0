// Package paging provides the pages of get-orders' list route: the limit and cursor
// query parameters, and the signed keyset cursors that say where a page starts.
package paging

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/ordersync/ordersync/shared/order"
)

// Limits of a page.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// A Page is one parsed list request: up to Limit orders after After (zero for the
// first page).
type Page struct {
	Limit int
	After Position
}

// A Position is a place in a user's orders, newest first: (created_at, order_id).
type Position struct {
	CreatedAt time.Time
	OrderID   string
}

// Zero reports whether p is the start, before every order.
func (p Position) Zero() bool { return p.OrderID == "" }

// Parse reads limit and cursor of a list request for user. Other parameters are
// ignored, as API Gateway would pass them on. A repeated parameter arrives
// comma-joined and is refused by the checks.
func (c *Cursors) Parse(params map[string]string, user string) (Page, []order.FieldError) {
	q := Page{Limit: DefaultLimit}
	var errs []order.FieldError
	if s, ok := params["limit"]; ok {
		n, ok := parseLimit(s)
		if !ok {
			errs = append(errs, order.FieldError{Field: "limit", Message: "must be a whole number from 1 to " + strconv.Itoa(MaxLimit)})
		}
		q.Limit = n
	}
	if s, ok := params["cursor"]; ok {
		p, ok := c.Decode(s, user)
		if !ok {
			errs = append(errs, order.FieldError{Field: "cursor", Message: "is not a cursor this API gave for this user; start again without it"})
		}
		q.After = p
	}
	return q, errs
}

// parseLimit accepts 1–MaxLimit written in plain decimal digits, without leading zeros.
func parseLimit(s string) (int, bool) {
	if s == "" || len(s) > 3 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n >= 1 && n <= MaxLimit
}

// Cursors signs and checks the opaque nextCursor values. A cursor is base64url of
// version (1 byte) | created_at in epoch ms (8 bytes) | order id (its text) | the first
// 16 bytes of HMAC-SHA256(key, user | 0 | the bytes before). It names a place in one
// user's orders only: a cursor altered, made up, or taken from another user is refused.
type Cursors struct {
	Key []byte
}

const (
	cursorVersion = 1
	cursorHead    = 1 + 8
	cursorMAC     = 16
	maxCursorID   = 64 // order_id is CHAR(36); the bound only limits what is decoded
)

// maxEncodedCursor is the length of the longest cursor as text.
var maxEncodedCursor = base64.RawURLEncoding.EncodedLen(cursorHead + maxCursorID + cursorMAC)

func (c *Cursors) mac(user string, body []byte) []byte {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)[:cursorMAC]
}

// Encode returns the cursor of p for user.
func (c *Cursors) Encode(p Position, user string) string {
	b := make([]byte, cursorHead, cursorHead+len(p.OrderID)+cursorMAC)
	b[0] = cursorVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(p.CreatedAt.UnixMilli()))
	b = append(b, p.OrderID...)
	b = append(b, c.mac(user, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode checks s and returns its position; ok is false for a cursor that Encode did not
// make for user with this key.
func (c *Cursors) Decode(s, user string) (p Position, ok bool) {
	// Go's base64 decoders skip CR and LF even when strict: one cursor must have one
	// spelling, so a line break refuses it.
	if len(s) > maxEncodedCursor || strings.ContainsAny(s, "\r\n") {
		return Position{}, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) <= cursorHead+cursorMAC || b[0] != cursorVersion {
		return Position{}, false
	}
	body, sum := b[:len(b)-cursorMAC], b[len(b)-cursorMAC:]
	if !hmac.Equal(sum, c.mac(user, body)) {
		return Position{}, false
	}
	ms := int64(binary.BigEndian.Uint64(body[1:9]))
	return Position{CreatedAt: time.UnixMilli(ms).UTC(), OrderID: string(body[cursorHead:])}, true
}
