package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/ordersync/ordersync/shared/db"
)

// The database the stack measurement's sink writes to: a fresh one per run, its row
// count watched while the orders stream in, and the rows reconciled with the 201s.

// benchDatabase creates a fresh database on DATABASE_URL's server (MariaDB on
// 127.0.0.1:3306 by default) and returns its config, name and URL, and how to drop it.
func benchDatabase(ctx context.Context) (cfg *mysql.Config, dbName, dbURL string, drop func(), err error) {
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = "mysql://root@127.0.0.1:3306/test"
	}
	cfg, err = db.MySQLConfig(base)
	if err != nil {
		return nil, "", "", nil, err
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, "", "", nil, err
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return nil, "", "", nil, fmt.Errorf("MariaDB at %s: %w (set DATABASE_URL, or run with --stack=false)", cfg.Addr, err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	dbName = "ordersync_bench_" + hex.EncodeToString(suffix)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+dbName+"`"); err != nil {
		admin.Close()
		return nil, "", "", nil, err
	}
	drop = func() {
		admin.Exec("DROP DATABASE `" + dbName + "`")
		admin.Close()
	}
	dbURL = strings.TrimSuffix(base, "/"+cfg.DBName)
	if i := strings.IndexByte(dbURL, '?'); i >= 0 {
		dbURL = dbURL[:i]
	}
	return cfg, dbName, dbURL + "/" + dbName, drop, nil
}

// A rowWatch reads the row count of the orders table at a fixed interval, from before
// the first request until it is stopped.
type rowWatch struct {
	mu      sync.Mutex
	samples []rowCount
	err     error
	cancel  context.CancelFunc
	done    chan struct{}
}

type rowCount struct {
	at   time.Time
	rows int
}

func watchRows(ctx context.Context, db *sql.DB, every time.Duration) *rowWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &rowWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			var n int
			err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders").Scan(&n)
			at := time.Now()
			if err != nil && ctx.Err() != nil {
				return
			}
			w.mu.Lock()
			switch {
			case err == nil:
				w.samples = append(w.samples, rowCount{at, n})
			case !isMissingTable(err): // the sink has not created its table yet
				w.err = err
			}
			w.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// waitFor waits until the table holds n rows, or limit passes, and returns the last
// count read and when it was read.
func (w *rowWatch) waitFor(n int, limit time.Duration) (int, time.Time, error) {
	deadline := time.Now().Add(limit)
	for {
		w.mu.Lock()
		err := w.err
		var last rowCount
		if len(w.samples) > 0 {
			last = w.samples[len(w.samples)-1]
		}
		w.mu.Unlock()
		if err != nil {
			return 0, time.Time{}, err
		}
		if last.rows >= n || time.Now().After(deadline) {
			return last.rows, last.at, nil
		}
		select {
		case <-w.done:
			return last.rows, last.at, errors.New("row count stopped")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop ends the watch and returns the counts read.
func (w *rowWatch) stop() []rowCount {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples
}

// rowLatencies pairs the k-th 201 with the first count of at least k rows and returns
// the median and 99th percentile of the time between them.
func rowLatencies(acked []time.Time, counts []rowCount) (p50, p99 time.Duration) {
	acked = slices.Clone(acked)
	slices.SortFunc(acked, func(a, b time.Time) int { return a.Compare(b) })
	var lat []time.Duration
	for k, at := range acked {
		i, _ := slices.BinarySearchFunc(counts, k+1, func(c rowCount, n int) int { return cmp.Compare(c.rows, n) })
		if i == len(counts) {
			break // never stored: reconcile reports it
		}
		lat = append(lat, max(0, counts[i].at.Sub(at)))
	}
	if len(lat) == 0 {
		return 0, 0
	}
	return percentiles(lat)
}

// reconcile counts the 201 ids that have no row (lost) and those with more than one (doubled).
func reconcile(ctx context.Context, db *sql.DB, ids []string) (lost, doubled int, err error) {
	counts := map[string]int{}
	rows, err := db.QueryContext(ctx, "SELECT order_id, COUNT(*) FROM orders GROUP BY order_id")
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return 0, 0, err
		}
		counts[id] = n
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	for _, id := range ids {
		switch n := counts[id]; {
		case n == 0:
			lost++
		case n > 1:
			doubled++
		}
	}
	return lost, doubled, nil
}

func withDB(cfg *mysql.Config, name string) *mysql.Config {
	c := cfg.Clone()
	c.DBName = name
	return c
}

func isMissingTable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1146
}
