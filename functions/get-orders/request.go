package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/order"
)

// Paging limits of GET /order-service/{userId}/orders.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// A query is one parsed request: a user's one order (orderID set) or a page of the
// user's orders (after set from a cursor, or zero for the first page).
type query struct {
	orderID string // canonical lower-case UUID; empty for a list
	limit   int
	after   position // the cursor's position; zero on the first page
}

// position is a place in a user's orders, newest first: (created_at, order_id).
type position struct {
	createdAt time.Time
	orderID   string
}

func (p position) zero() bool { return p.orderID == "" }

// parseOrderID checks that s is a UUID in its 8-4-4-4-12 hex form, either case, and
// returns it in lower case, as the ids are stored.
func parseOrderID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	var b [36]byte
	for i := 0; i < 36; i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			c += 'a' - 'A'
		default:
			return "", false
		}
		b[i] = c
	}
	return string(b[:]), true
}

// validUser reports whether s follows the userId rule: 1–64 chars of [A-Za-z0-9_-].
func validUser(s string) bool {
	if s == "" || len(s) > order.MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// pathOrderID returns the {orderId} of GET /order-service/{userId}/orders/{orderId}, and
// whether the request names one at all (the list route names none).
func pathOrderID(req *events.APIGatewayV2HTTPRequest) (string, bool) {
	if id, ok := req.PathParameters["orderId"]; ok {
		return id, true
	}
	p, ok := strings.CutPrefix(req.RawPath, "/order-service/")
	if !ok {
		return "", false
	}
	_, rest, _ := strings.Cut(p, "/")
	id, ok := strings.CutPrefix(rest, "orders/")
	return id, ok
}

// parseList reads limit and cursor of a list request for user. Other parameters are
// ignored, as API Gateway would pass them on. A repeated parameter arrives
// comma-joined and is refused by the checks.
func (c *cursors) parseList(params map[string]string, user string) (query, []order.FieldError) {
	q := query{limit: DefaultLimit}
	var errs []order.FieldError
	if s, ok := params["limit"]; ok {
		n, ok := parseLimit(s)
		if !ok {
			errs = append(errs, order.FieldError{Field: "limit", Message: "must be a whole number from 1 to " + strconv.Itoa(MaxLimit)})
		}
		q.limit = n
	}
	if s, ok := params["cursor"]; ok {
		p, ok := c.decode(s, user)
		if !ok {
			errs = append(errs, order.FieldError{Field: "cursor", Message: "is not a cursor this API gave for this user; start again without it"})
		}
		q.after = p
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

// cursors signs and checks the opaque nextCursor values. A cursor is base64url of
// version (1 byte) | created_at in epoch ms (8 bytes) | order id (its text) | the first
// 16 bytes of HMAC-SHA256(key, user | 0 | the bytes before). It names a place in one
// user's orders only: a cursor altered, made up, or taken from another user is refused.
type cursors struct {
	key []byte
}

const (
	cursorVersion = 1
	cursorHead    = 1 + 8
	cursorMAC     = 16
	maxCursorID   = 64 // order_id is CHAR(36); the bound only limits what is decoded
)

// maxEncodedCursor is the length of the longest cursor as text.
var maxEncodedCursor = base64.RawURLEncoding.EncodedLen(cursorHead + maxCursorID + cursorMAC)

func (c *cursors) mac(user string, body []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)[:cursorMAC]
}

// encode returns the cursor of p for user.
func (c *cursors) encode(p position, user string) string {
	b := make([]byte, cursorHead, cursorHead+len(p.orderID)+cursorMAC)
	b[0] = cursorVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(p.createdAt.UnixMilli()))
	b = append(b, p.orderID...)
	b = append(b, c.mac(user, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decode checks s and returns its position.
func (c *cursors) decode(s, user string) (position, bool) {
	if len(s) > maxEncodedCursor {
		return position{}, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) <= cursorHead+cursorMAC || b[0] != cursorVersion {
		return position{}, false
	}
	body, sum := b[:len(b)-cursorMAC], b[len(b)-cursorMAC:]
	if !hmac.Equal(sum, c.mac(user, body)) {
		return position{}, false
	}
	ms := int64(binary.BigEndian.Uint64(body[1:9]))
	return position{createdAt: time.UnixMilli(ms).UTC(), orderID: string(body[cursorHead:])}, true
}
