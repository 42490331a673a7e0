package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ordersync/ordersync/shared/db"
)

const migrateUsage = `usage: go run ./cmd/ordersync migrate [--data DIR]

Applies db/migrations/*.sql (each file once, recorded in schema_migrations) to
DATABASE_URL (mysql://user:pass@host:port/db), or, when it is unset, to the
embedded SQLite file DIR/ordersync.db.
`

// runMigrate applies db/migrations to $DATABASE_URL, or to the SQLite file under --data.
func runMigrate(args []string) error {
	fs := newFlagSet("migrate", migrateUsage)
	dataDir := fs.String("data", ".local", "directory of the embedded SQLite file")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	store, err := db.Open(ctx, os.Getenv("DATABASE_URL"), *dataDir)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer store.Close()
	if err := db.Apply(ctx, store.SQL, store.Dialect); err != nil {
		return fmt.Errorf("migrate %s: %w", store.Where, err)
	}
	fmt.Fprintf(os.Stderr, "migrations applied to %s database %s\n", store.Dialect, store.Where)
	return nil
}
