//go:build sqlite

// The local stack builds get-orders with -tags sqlite, so that it reads the stack's
// SQLite file (DATABASE_FILE) when no DATABASE_URL is set. The Lambda build has no
// SQLite driver.

package main

import (
	"database/sql"
	"fmt"

	_ "modernc.org/sqlite"

	"github.com/ordersync/ordersync/shared/db"
)

func init() {
	openSQLite = func(file string) (*sql.DB, error) {
		if file == "" {
			return nil, fmt.Errorf("%w: set DATABASE_URL, DB_ENDPOINT or DATABASE_FILE", ErrConfig)
		}
		sqldb, err := sql.Open("sqlite", db.SQLiteDSN(file))
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", file, err)
		}
		sqldb.SetMaxOpenConns(maxConns)
		return sqldb, nil
	}
}
