package main

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordersync/ordersync/shared/order"
)

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
