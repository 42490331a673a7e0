package testkit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/ordersync/ordersync/internal/scratchdb"
)

// DefaultMariaDBURL is the test server: MariaDB on 127.0.0.1:3306, root without a
// password, and its database "test" for administration. TEST_DATABASE_URL overrides it.
const DefaultMariaDBURL = "mysql://root@127.0.0.1:3306/test"

// CI reports whether the run is a CI run (CI=true), where a missing dependency fails.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing stops a test that cannot run without something this machine lacks: under
// CI=true the test fails, elsewhere it is skipped with the reason, which `make test`
// lists at the end.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf("required under CI=true: "+format, args...)
		return
	}
	t.Skipf(format, args...)
}

// Database is a fresh database on the test server, dropped when its test ends.
type Database struct {
	Name string
	URL  string  // mysql://user:pass@host:port/<name>, the form DATABASE_URL takes
	DSN  string  // the go-sql-driver form of URL
	SQL  *sql.DB // a connection pool on the database, closed before the drop
	cfg  *mysql.Config
}

// Config returns a copy of the driver configuration of d, to add driver parameters.
func (d *Database) Config() *mysql.Config { return d.cfg.Clone() }

// server is the MariaDB connection shared by every test of the process.
var server struct {
	once    sync.Once
	url     string
	cfg     *mysql.Config
	admin   *sql.DB
	err     error
	mu      sync.Mutex
	before  []string // ordersync_% databases when the first test asked for one
	created []string // databases this process created
}

// MariaDBURL returns the URL of the test server's administration database, or stops
// the test as Missing when the server is not reachable. It skips with -short.
func MariaDBURL(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs MariaDB; skipped with -short")
	}
	server.once.Do(connect)
	if server.err != nil {
		Missing(t, "MariaDB not reachable at %s (%v); start it, or set TEST_DATABASE_URL", redact(server.url), server.err)
	}
	return server.url
}

func connect() {
	server.url = os.Getenv("TEST_DATABASE_URL")
	if server.url == "" {
		server.url = DefaultMariaDBURL
	}
	server.cfg, server.err = parseURL(server.url)
	if server.err != nil {
		return
	}
	server.admin, server.err = sql.Open("mysql", server.cfg.FormatDSN())
	if server.err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if server.err = server.admin.PingContext(ctx); server.err != nil {
		return
	}
	server.before, server.err = listDatabases(ctx, server.admin)
}

// MariaDB creates a database named ordersync_<purpose>_<hex> on the test server and
// drops it when the test ends, after every cleanup registered later (so connections
// the test opens on it afterwards are closed first); a failed drop fails the test.
// Without MariaDB the test stops as Missing; with -short it is skipped. The package's
// TestMain must call Main, which checks that no database was left behind.
func MariaDB(t testing.TB, purpose string) *Database {
	t.Helper()
	requireMain(t, "MariaDB")
	MariaDBURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, err := scratchdb.Create(ctx, server.admin, purpose)
	server.mu.Lock()
	server.created = append(server.created, name)
	server.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(name); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	cfg := server.cfg.Clone()
	cfg.DBName = name
	d := &Database{Name: name, DSN: cfg.FormatDSN(), cfg: cfg}
	u, _ := url.Parse(server.url) // parsed once already in connect
	u.Path = "/" + name
	d.URL = u.String()
	db, err := sql.Open("mysql", d.DSN)
	if err != nil {
		t.Fatalf("open test database %s: %v", name, err)
	}
	d.SQL = db
	t.Cleanup(func() { db.Close() })
	return d
}

// dropDatabase drops name on the test server (see scratchdb.Drop).
func dropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return scratchdb.Drop(ctx, server.admin, name)
}

func listDatabases(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SHOW DATABASES LIKE 'ordersync\_%'`)
	if err != nil {
		return nil, fmt.Errorf("list test databases: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list test databases: %w", err)
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// leftoverDatabases lists the databases this process created that still exist, and
// drops them so that the next run starts clean.
func leftoverDatabases() error {
	if server.admin == nil || server.err != nil {
		return nil
	}
	server.mu.Lock()
	created := slices.Clone(server.created)
	server.mu.Unlock()
	if len(created) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	after, err := listDatabases(ctx, server.admin)
	if err != nil {
		return err
	}
	var left []string
	for _, n := range after {
		if slices.Contains(created, n) && !slices.Contains(server.before, n) {
			left = append(left, n)
		}
	}
	if len(left) == 0 {
		return nil
	}
	errs := []error{fmt.Errorf("tests left %d databases behind: %v", len(left), left)}
	for _, n := range left {
		errs = append(errs, dropDatabase(n))
	}
	return errors.Join(errs...)
}

func closeServer() {
	if server.admin != nil {
		server.admin.Close()
	}
}

func parseURL(raw string) (*mysql.Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("TEST_DATABASE_URL: %w", err)
	}
	if u.Scheme != "mysql" || u.Host == "" || len(u.Path) < 2 {
		return nil, fmt.Errorf("TEST_DATABASE_URL %q: want mysql://user:pass@host:port/db", u.Redacted())
	}
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", u.Host, u.Path[1:]
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	return cfg, nil
}

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "TEST_DATABASE_URL"
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
