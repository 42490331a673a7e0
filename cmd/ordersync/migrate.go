package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ordersync/ordersync/shared/db"
)

// runMigrate applies db/migrations to $DATABASE_URL, or to the SQLite file under --data.
func runMigrate(args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: go run ./cmd/ordersync migrate [--data DIR]

Applies db/migrations/*.sql (each file once, recorded in schema_migrations) to
DATABASE_URL (mysql://user:pass@host:port/db), or, when it is unset, to the
embedded SQLite file DIR/ordersync.db.`)
		fs.PrintDefaults()
	}
	dataDir := fs.String("data", ".local", "directory of the embedded SQLite file")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate: unexpected argument %q", fs.Arg(0))
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
