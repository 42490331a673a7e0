// Package scratchdb provides throwaway databases on a MariaDB server, named
// ordersync_<purpose>_<hex>, for the tests and the benchmarks.
package scratchdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

var sanitize = regexp.MustCompile(`[^a-z0-9_]+`)

// Create creates a database named ordersync_<purpose>_<hex> through admin, a
// pool on a MariaDB server, and returns its name (also when the create failed, so that
// a caller can look for it later). Tests take theirs from testkit.MariaDB, which
// drops it when they end; a command (make bench) calls Drop itself.
func Create(ctx context.Context, admin *sql.DB, purpose string) (string, error) {
	name := "ordersync_" + sanitize.ReplaceAllString(strings.ToLower(purpose), "_") + "_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"`"); err != nil {
		return name, fmt.Errorf("create database %s: %w", name, err)
	}
	return name, nil
}

// Drop drops name through admin, waiting at most 30 s for locks an open
// transaction holds rather than the server's default of a year.
func Drop(ctx context.Context, admin *sql.DB, name string) error {
	conn, err := admin.Conn(ctx)
	if err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET SESSION lock_wait_timeout = 30"); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
