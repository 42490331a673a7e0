package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/ordersync/ordersync/shared/db"
)

func init() { dialects = append(dialects, dialect{db.SQLite, freshSQLite}) }

// freshSQLite is a migrated SQLite file opened as the local stack's get-orders opens it.
func freshSQLite(t testing.TB) *sql.DB {
	t.Helper()
	sqldb, err := sql.Open("sqlite", db.SQLiteDSN(filepath.Join(t.TempDir(), db.SQLiteFile)))
	if err != nil {
		t.Fatal(err)
	}
	sqldb.SetMaxOpenConns(maxConns)
	t.Cleanup(func() { sqldb.Close() })
	if err := db.Apply(context.Background(), sqldb, db.SQLite); err != nil {
		t.Fatal(err)
	}
	return sqldb
}
