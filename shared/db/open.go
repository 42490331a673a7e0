// Package db provides the one way ordersync opens its database: a DATABASE_URL
// (MariaDB / Aurora MySQL) or an embedded SQLite file, its dialect, and the migrations
// runner for db/migrations.
//
// The package does not link a SQLite driver: programs that offer the embedded file
// (the sink, the local CLI) import modernc.org/sqlite themselves, so Lambda builds that
// only talk to MariaDB stay small.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Dialects of a DB.
const (
	MySQL  = "mysql"  // MariaDB / Aurora MySQL through github.com/go-sql-driver/mysql
	SQLite = "sqlite" // an embedded file through modernc.org/sqlite (imported by the caller)
)

// SQLiteFile is the file Open uses inside its data directory when no database URL is set.
const SQLiteFile = "ordersync.db"

// DB is an open database and its dialect.
type DB struct {
	SQL     *sql.DB
	Dialect string // MySQL or SQLite
	Where   string // the server address and database, or the SQLite file, for logs
}

// Close closes the database.
func (db *DB) Close() error { return db.SQL.Close() }

// Open connects to databaseURL (mysql://user:pass@host:port/db[?param=value]) or, when
// it is empty, to the SQLite file dataDir/ordersync.db, creating dataDir if needed.
func Open(ctx context.Context, databaseURL, dataDir string) (*DB, error) {
	var db *DB
	if databaseURL == "" {
		if dataDir == "" {
			dataDir = ".local"
		}
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		file := filepath.Join(dataDir, SQLiteFile)
		sqldb, err := sql.Open("sqlite", SQLiteDSN(file))
		if err != nil {
			return nil, fmt.Errorf("open %s: %w (this program is built without SQLite: set DATABASE_URL)", file, err)
		}
		// One writer at a time is what SQLite does anyway; one connection avoids
		// SQLITE_BUSY between our own connections.
		sqldb.SetMaxOpenConns(1)
		db = &DB{SQL: sqldb, Dialect: SQLite, Where: file}
	} else {
		cfg, err := MySQLConfig(databaseURL)
		if err != nil {
			return nil, err
		}
		connector, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		sqldb := sql.OpenDB(connector)
		sqldb.SetMaxOpenConns(8)
		sqldb.SetMaxIdleConns(8)
		sqldb.SetConnMaxLifetime(30 * time.Minute)
		db = &DB{SQL: sqldb, Dialect: MySQL, Where: cfg.Addr + "/" + cfg.DBName}
	}
	if err := db.SQL.PingContext(ctx); err != nil {
		db.SQL.Close()
		return nil, fmt.Errorf("connect to %s database %s: %w", db.Dialect, db.Where, err)
	}
	return db, nil
}

// SQLiteDSN is the modernc.org/sqlite DSN Open uses for file.
func SQLiteDSN(file string) string {
	return "file:" + file + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_time_format=sqlite"
}

// ErrDatabaseURL is returned by MySQLConfig for a URL it cannot use.
var ErrDatabaseURL = errors.New("bad DATABASE_URL")

// redacted is u for an error message, without its password: url.URL.Redacted hides a
// password only where the URL has a userinfo. One with no "//" after the scheme
// ("mysql::user:pass@host") keeps it in the opaque part, which is then left out, and one
// with a mistyped "//" ("mysql:/user:pass@host/db") in the path, which is left out up to
// its last '@'.
func redacted(u *url.URL) string {
	if u.Opaque != "" {
		return u.Scheme + ":…"
	}
	s := u.Redacted()
	if i := strings.LastIndex(s, "@"); u.User == nil && i >= 0 {
		return u.Scheme + ":…" + s[i:]
	}
	return s
}

// MySQLConfig turns mysql://user:pass@host:port/db?param=value into a driver config with
// parseTime, UTC and a UTC session time zone (the connector's db.timezone=UTC).
// Query parameters are passed on as driver parameters.
func MySQLConfig(databaseURL string) (*mysql.Config, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only its reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: %w", ErrDatabaseURL, err)
	}
	if u.Scheme != "mysql" && u.Scheme != "mariadb" {
		return nil, fmt.Errorf("%w: scheme %q, want mysql://user:pass@host:port/db", ErrDatabaseURL, u.Scheme)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return nil, fmt.Errorf("%w: no database name in %q, want mysql://user:pass@host:port/db", ErrDatabaseURL, redacted(u))
	}
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	if u.Port() == "" {
		cfg.Addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	if host, _, err := net.SplitHostPort(cfg.Addr); err != nil || host == "" || strings.ContainsAny(host, "[]/") {
		return nil, fmt.Errorf("%w: no usable host in %q, want mysql://user:pass@host:port/db", ErrDatabaseURL, redacted(u))
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password() // no password is a valid login
		if cfg.User == "" && cfg.Passwd != "" {
			return nil, fmt.Errorf("%w: a password without a user name in %q", ErrDatabaseURL, redacted(u))
		}
	}
	cfg.DBName = db
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Collation = "utf8mb4_general_ci"
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "parseTime", "loc", "collation", "interpolateParams", "multiStatements":
			// the sink relies on these; a URL does not override them.
			continue
		case "tls":
			cfg.TLSConfig = v
		case "timeout":
			if d, err := time.ParseDuration(v); err == nil {
				cfg.Timeout = d
			}
		default:
			cfg.Params[k] = v
		}
	}
	return cfg, nil
}
