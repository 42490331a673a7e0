// Apply runs the SQL migrations in db/migrations.
//
// Each file runs once: applied files are recorded in schema_migrations, and every
// statement is itself idempotent (CREATE TABLE IF NOT EXISTS), so a run interrupted
// between a statement and its bookkeeping is safe to repeat. The same files apply to
// MariaDB / Aurora MySQL and to SQLite (MySQL-only table options live in /*! */ comments);
// what the two write differently (triggers) lives in NAME.mysql.sql and NAME.sqlite.sql,
// each applied to its dialect only.

package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ordersync/ordersync/db/migrations"
)

// Errors returned by Apply.
var (
	ErrDialect = errors.New("unknown SQL dialect")
	ErrLock    = errors.New("migration lock not acquired")
)

const lockName = "ordersync_migrate"

// Apply runs the migrations from db/migrations that the database has not seen yet, in
// file-name order. dialect is MySQL or SQLite.
func Apply(ctx context.Context, sqldb *sql.DB, dialect string) error {
	_, err := ApplyFS(ctx, sqldb, dialect, migrations.FS, ".")
	return err
}

// ApplyFS is Apply for the *.sql files in dir of fsys; it returns the files it applied.
func ApplyFS(ctx context.Context, sqldb *sql.DB, dialect string, fsys fs.FS, dir string) ([]string, error) {
	if dialect != MySQL && dialect != SQLite {
		return nil, fmt.Errorf("%w %q (want %q or %q)", ErrDialect, dialect, MySQL, SQLite)
	}
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	names = forDialect(names, dialect)
	slices.Sort(names)

	conn, err := sqldb.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if dialect == MySQL {
		// Two appliers at once (two stacks, two test packages) take turns.
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 60)", lockName).Scan(&got); err != nil {
			return nil, fmt.Errorf("lock: %w", err)
		}
		if got.Int64 != 1 {
			return nil, fmt.Errorf("%w: %s held by another session for 60s", ErrLock, lockName)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", lockName)
	}

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    VARCHAR(255) NOT NULL,
  applied_at DATETIME(3)  NOT NULL,
  PRIMARY KEY (version)
)`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[string]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}

	var done []string
	for _, name := range names {
		version := path.Base(name)
		if applied[version] {
			continue
		}
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			return done, fmt.Errorf("read %s: %w", version, err)
		}
		for i, stmt := range Split(string(text)) {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				if alreadyThere(stmt, err) {
					continue
				}
				return done, fmt.Errorf("%s statement %d: %w", version, i+1, err)
			}
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
			version, time.Now().UTC().Truncate(time.Millisecond)); err != nil {
			return done, fmt.Errorf("record %s: %w", version, err)
		}
		done = append(done, version)
	}
	return done, nil
}

// forDialect keeps the files that apply to dialect: NAME.sql applies to both,
// NAME.mysql.sql to MySQL only, NAME.sqlite.sql to SQLite only.
func forDialect(names []string, dialect string) []string {
	var out []string
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, ".mysql.sql") && dialect != MySQL:
		case strings.HasSuffix(n, ".sqlite.sql") && dialect != SQLite:
		default:
			out = append(out, n)
		}
	}
	return out
}

// alreadyThere reports whether err says a CREATE INDEX found its index already made, or
// a DROP INDEX found it already gone (a run that stopped after the statement but before
// recording the file). Neither Aurora MySQL 3 nor older MySQL has CREATE INDEX IF NOT
// EXISTS or DROP INDEX IF EXISTS.
func alreadyThere(stmt string, err error) bool {
	msg := err.Error()
	switch s := strings.ToUpper(strings.TrimSpace(stmt)); {
	case strings.HasPrefix(s, "CREATE INDEX"):
		return strings.Contains(msg, "Error 1061") || strings.Contains(msg, "already exists")
	case strings.HasPrefix(s, "DROP INDEX"):
		return strings.Contains(msg, "Error 1091") || strings.Contains(msg, "no such index")
	}
	return false
}

// Split cuts a SQL script into statements at semicolons outside quotes, comments and the
// BEGIN … END body of a CREATE TRIGGER (SQLite's trigger bodies end each statement with a
// semicolon).
// Line comments are dropped; block comments stay, so MySQL executable comments
// (/*! ... */) reach the server.
func Split(script string) []string {
	var (
		out  []string
		cur  strings.Builder
		quot byte // ', ", ` while inside a quoted run
	)
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for i := 0; i < len(script); i++ {
		c := script[i]
		switch {
		case quot != 0:
			cur.WriteByte(c)
			if c == '\\' && quot != '`' && i+1 < len(script) {
				i++
				cur.WriteByte(script[i])
			} else if c == quot {
				quot = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quot = c
			cur.WriteByte(c)
		case c == '-' && strings.HasPrefix(script[i:], "--"):
			for i < len(script) && script[i] != '\n' {
				i++
			}
			cur.WriteByte('\n')
		case c == '/' && strings.HasPrefix(script[i:], "/*"):
			end := strings.Index(script[i+2:], "*/")
			if end < 0 {
				cur.WriteString(script[i:])
				i = len(script)
				break
			}
			cur.WriteString(script[i : i+2+end+2])
			i += 2 + end + 1
		case c == ';' && inTriggerBody(cur.String()):
			cur.WriteByte(c)
		case c == ';':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}

// inTriggerBody reports whether stmt, a statement read up to a semicolon, is a CREATE
// TRIGGER whose BEGIN … END body is still open. CASE … END nests inside it; MySQL's
// END IF, END LOOP, END WHILE and END REPEAT close blocks that never opened a level.
// Words inside quoted strings count too: a trigger body must not quote these keywords.
func inTriggerBody(stmt string) bool {
	words := strings.FieldsFunc(strings.ToUpper(stmt), func(r rune) bool {
		return r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) < 3 || words[0] != "CREATE" || (words[1] != "TRIGGER" && words[2] != "TRIGGER") {
		return false
	}
	depth := 0
	for i := 0; i < len(words); i++ {
		switch words[i] {
		case "BEGIN", "CASE":
			depth++
		case "END":
			depth--
			if i+1 < len(words) {
				switch words[i+1] {
				case "IF", "LOOP", "WHILE", "REPEAT":
					depth++
					i++
				case "CASE":
					i++
				}
			}
		}
	}
	return depth > 0
}
