package order

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// Namespace is the UUIDv5 namespace of order ids. It is itself the UUIDv5 of the URL
// "https://github.com/ordersync/ordersync/orders" in the RFC 9562 URL namespace, and it
// never changes: changing it would give a retried request a new order id.
var Namespace = uuid.MustParse("4c4318c7-0b5b-5b32-9621-1eb7af08e29b")

// ID returns the id of an order placed by userID. With an Idempotency-Key the id is the
// UUIDv5 of userID + "\x00" + idempotencyKey in Namespace, so a retried request gets the
// same id (and the same row) while two users sending the same key do not collide; the
// NUL separator keeps ("ab", "c") and ("a", "bc") apart, since neither part can hold a
// NUL. Without a key the id is a fresh, time-ordered UUIDv7.
func ID(userID, idempotencyKey string) string {
	if idempotencyKey == "" {
		return newV7(time.Now()).String()
	}
	return v5(userID, idempotencyKey).String()
}

// v5 is uuid.NewSHA1(Namespace, []byte(userID+"\x00"+key)), hashed from a stack
// buffer when the name fits (it always does within the rules: 64 + 1 + 255 bytes).
func v5(userID, key string) uuid.UUID {
	var sum [sha1.Size]byte
	var buf [16 + MaxNameLen + 1 + MaxKeyLen]byte
	if n := len(Namespace) + len(userID) + 1 + len(key); n <= len(buf) {
		b := append(append(append(append(buf[:0], Namespace[:]...), userID...), 0), key...)
		sum = sha1.Sum(b)
	} else {
		h := sha1.New()
		h.Write(Namespace[:])
		h.Write([]byte(userID))
		h.Write([]byte{0})
		h.Write([]byte(key))
		h.Sum(sum[:0])
	}
	var u uuid.UUID
	copy(u[:], sum[:])
	u[6] = (u[6] & 0x0f) | 0x50 // version 5
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 9562 variant
	return u
}

// newV7 returns a UUIDv7 for t: 48 bits of Unix milliseconds, then random bits. It reads
// crypto/rand.Read, which never returns an error (Go 1.24+), so there is no error to lose.
func newV7(t time.Time) uuid.UUID {
	var u uuid.UUID
	_, _ = rand.Read(u[6:]) // documented never to fail
	ms := uint64(t.UnixMilli())
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms<<16)
	copy(u[:6], ts[:6])
	u[6] = (u[6] & 0x0f) | 0x70 // version 7
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 9562 variant
	return u
}
