package db

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"

	"github.com/ordersync/ordersync/db/migrations"
	"github.com/ordersync/ordersync/internal/testkit"
)

// freshMariaDB creates a database of its own on the test server, dropped afterwards.
func freshMariaDB(t *testing.T) *sql.DB {
	t.Helper()
	cfg := testkit.MariaDB(t, "migrate").Config()
	cfg.ParseTime = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMain(m *testing.M) { testkit.Main(m) }

func freshSQLite(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

var wantColumns = map[string][]string{
	MySQL: {"order_id char(36) NO PRI", "user_id varchar(64) NO MUL", "product_id varchar(64) NO ", "qty int(11) NO ",
		"unit_price bigint(20) NO ", "total_price bigint(20) NO ", "status varchar(16) NO ", "created_at datetime(3) NO ", "reason text YES "},
	SQLite: {"order_id CHAR(36) NO PRI", "user_id VARCHAR(64) NO ", "product_id VARCHAR(64) NO ", "qty INT NO ",
		"unit_price BIGINT NO ", "total_price BIGINT NO ", "status VARCHAR(16) NO ", "created_at DATETIME(3) NO ", "reason TEXT YES "},
}

func columns(t *testing.T, db *sql.DB, dialect, table string) []string {
	t.Helper()
	q := "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION"
	if dialect == SQLite {
		q = `SELECT name, type, CASE WHEN "notnull" = 1 THEN 'NO' ELSE 'YES' END, CASE WHEN pk > 0 THEN 'PRI' ELSE '' END FROM pragma_table_info(?)`
	}
	rows, err := db.Query(q, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, b, c, d string
		if err := rows.Scan(&a, &b, &c, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, a+" "+b+" "+c+" "+d)
	}
	return out
}

// onBothDialects runs test on a fresh MariaDB database and on a fresh SQLite file.
func onBothDialects(t *testing.T, test func(t *testing.T, dialect string, db *sql.DB)) {
	t.Helper()
	for _, tt := range []struct {
		dialect string
		open    func(*testing.T) *sql.DB
	}{{MySQL, freshMariaDB}, {SQLite, freshSQLite}} {
		t.Run(tt.dialect, func(t *testing.T) { test(t, tt.dialect, tt.open(t)) })
	}
}

func TestApplyTwiceOnBothDialects(t *testing.T) {
	onBothDialects(t, func(t *testing.T, dialect string, db *sql.DB) {
		ctx := context.Background()
		if err := Apply(ctx, db, dialect); err != nil {
			t.Fatal(err)
		}
		if err := Apply(ctx, db, dialect); err != nil {
			t.Fatalf("second apply: %v", err)
		}
		var versions []string
		rows, err := db.Query("SELECT version FROM schema_migrations ORDER BY version")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v string
			rows.Scan(&v)
			versions = append(versions, v)
		}
		rows.Close()
		// Every file of db/migrations for both dialects, and this dialect's own.
		all, err := fs.Glob(migrations.FS, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		want := forDialect(all, dialect)
		if !slices.Equal(versions, want) || !slices.Contains(want, "0003_keep_order_content."+dialect+".sql") {
			t.Fatalf("schema_migrations = %v, want %v with 0003_keep_order_content.%s.sql", versions, want, dialect)
		}
		for _, table := range []string{"orders", "order_rejections"} {
			if got := columns(t, db, dialect, table); strings.Join(got, "|") != strings.Join(wantColumns[dialect], "|") {
				t.Fatalf("%s columns\n%s\nwant\n%s", table, strings.Join(got, "\n"), strings.Join(wantColumns[dialect], "\n"))
			}
		}
		// The keyset index of 0004 exists on both tables; the prefix indexes it replaced
		// are gone.
		for index, want := range map[string]int{
			"orders_user_created_id": 3, "order_rejections_user_created_id": 3,
			"orders_user_created": 0, "order_rejections_user_created": 0,
		} {
			var n int
			q := "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME = ?"
			if dialect == SQLite {
				q = "SELECT COUNT(*) FROM pragma_index_info(?)"
			}
			if err := db.QueryRow(q, index).Scan(&n); err != nil || n != want {
				t.Fatalf("%s index columns = %d, %v; want %d", index, n, err, want)
			}
		}
		if dialect == MySQL {
			var engine, collation string
			if err := db.QueryRow("SELECT ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders'").Scan(&engine, &collation); err != nil {
				t.Fatal(err)
			}
			if engine != "InnoDB" || collation != "utf8mb4_bin" {
				t.Fatalf("engine %s collation %s, want InnoDB utf8mb4_bin", engine, collation)
			}
		}
	})
}

// A run that created an index but stopped before recording its file is finished by
// the next run.
func TestApplyAfterInterruptedRun(t *testing.T) {
	db := freshSQLite(t)
	ctx := context.Background()
	fsys := fstest.MapFS{"m/0001_t.sql": {Data: []byte("CREATE TABLE IF NOT EXISTS t (a INT NOT NULL, PRIMARY KEY (a));\nCREATE INDEX t_a ON t (a);")}}
	if _, err := db.Exec("CREATE TABLE t (a INT NOT NULL, PRIMARY KEY (a))"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE INDEX t_a ON t (a)"); err != nil {
		t.Fatal(err)
	}
	done, err := ApplyFS(ctx, db, SQLite, fsys, "m")
	if err != nil || !slices.Equal(done, []string{"0001_t.sql"}) {
		t.Fatalf("ApplyFS = %v, %v", done, err)
	}
	if done, err := ApplyFS(ctx, db, SQLite, fsys, "m"); err != nil || len(done) != 0 {
		t.Fatalf("second ApplyFS = %v, %v; want nothing to do", done, err)
	}
}

// A run that dropped an index but stopped before recording its file is finished by the
// next run, on both dialects (MySQL names the table in an executable comment).
func TestApplyAfterInterruptedDrop(t *testing.T) {
	onBothDialects(t, func(t *testing.T, dialect string, db *sql.DB) {
		ctx := context.Background()
		fsys := fstest.MapFS{"m/0001_t.sql": {Data: []byte("CREATE TABLE IF NOT EXISTS t (a INT NOT NULL, b INT NOT NULL, PRIMARY KEY (a));\nDROP INDEX t_b /*! ON t */;")}}
		if _, err := db.Exec("CREATE TABLE t (a INT NOT NULL, b INT NOT NULL, PRIMARY KEY (a))"); err != nil {
			t.Fatal(err)
		}
		done, err := ApplyFS(ctx, db, dialect, fsys, "m")
		if err != nil || !slices.Equal(done, []string{"0001_t.sql"}) {
			t.Fatalf("ApplyFS = %v, %v", done, err)
		}
	})
}

func TestApplyUnknownDialect(t *testing.T) {
	if err := Apply(context.Background(), freshSQLite(t), "postgres"); !errors.Is(err, ErrDialect) {
		t.Fatalf("Apply = %v, want ErrDialect", err)
	}
}

// TestSplit: statements end at semicolons outside quotes and comments; a SQLite
// trigger's BEGIN … END body keeps its semicolons (CASE … END nests inside it); a
// single-statement MySQL trigger ends at its semicolon.
func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		want         []string
	}{
		{"quotes and comments", "-- a; comment\nCREATE TABLE a (x TEXT DEFAULT ';') /*! ENGINE=InnoDB */;\n\nINSERT INTO a VALUES ('it''s; fine');\n-- trailing",
			[]string{"CREATE TABLE a (x TEXT DEFAULT ';') /*! ENGINE=InnoDB */", "INSERT INTO a VALUES ('it''s; fine')"}},
		{"trigger bodies", `CREATE TRIGGER IF NOT EXISTS k BEFORE UPDATE ON t FOR EACH ROW WHEN NEW.a IS NOT OLD.a
BEGIN
  SELECT CASE WHEN 1 THEN RAISE(IGNORE) END;
  SELECT 1;
END;
CREATE TRIGGER m BEFORE UPDATE ON t FOR EACH ROW SET NEW.a = OLD.a;
CREATE TABLE begin_end (x INT);
DROP TRIGGER IF EXISTS k`, []string{
			"CREATE TRIGGER IF NOT EXISTS k BEFORE UPDATE ON t FOR EACH ROW WHEN NEW.a IS NOT OLD.a\nBEGIN\n  SELECT CASE WHEN 1 THEN RAISE(IGNORE) END;\n  SELECT 1;\nEND",
			"CREATE TRIGGER m BEFORE UPDATE ON t FOR EACH ROW SET NEW.a = OLD.a",
			"CREATE TABLE begin_end (x INT)",
			"DROP TRIGGER IF EXISTS k",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Split(tc.script); !slices.Equal(got, tc.want) {
				t.Fatalf("Split =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
