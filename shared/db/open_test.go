package db

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func TestMySQLConfig(t *testing.T) {
	cfg, err := MySQLConfig("mysql://app:s%40cret@db.internal:3307/orders?tls=true&readTimeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "app" || cfg.Passwd != "s@cret" || cfg.Addr != "db.internal:3307" || cfg.DBName != "orders" ||
		!cfg.ParseTime || cfg.Loc != time.UTC || cfg.TLSConfig != "true" || cfg.Params["time_zone"] != "'+00:00'" {
		t.Fatalf("config = %+v", cfg)
	}
	for _, bad := range []string{"postgres://x@y/z", "mysql://root@127.0.0.1:3306", "mysql://root@127.0.0.1:3306/"} {
		if _, err := MySQLConfig(bad); !errors.Is(err, ErrDatabaseURL) {
			t.Errorf("MySQLConfig(%q) = %v, want ErrDatabaseURL", bad, err)
		}
	}
}

// FuzzMySQLConfig: any DATABASE_URL gives a driver config or ErrDatabaseURL, never a
// panic; an error never shows the password; a config has what the sink relies on, and
// the driver reads its DSN back to the same server, user, password and database.
func FuzzMySQLConfig(f *testing.F) {
	for _, seed := range []string{
		"mysql://root@127.0.0.1:3306/test",
		"mysql://app:secret@db.internal:3307/orders?tls=true&readTimeout=5s",
		"mariadb://u:password@[::1]/d?timeout=1s&parseTime=false&loc=Local",
		"mysql://u:password@h/d/e", "mysql://u:password@h", "postgres://x@y/z", "mysql://u:password@h:notaport/d",
		"mysql://%zz@h/d", "::", "", "mysql:///d", "mysql://u:password@h:1/d?sql_mode=%27NO_BACKSLASH_ESCAPES%27",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, databaseURL string) {
		cfg, err := MySQLConfig(databaseURL)
		if err != nil {
			if !errors.Is(err, ErrDatabaseURL) {
				t.Fatalf("MySQLConfig(%q) = %v, want ErrDatabaseURL", databaseURL, err)
			}
			if raw, pw := password(databaseURL); len(pw) >= 4 && strings.Contains(err.Error(), pw) {
				// Shown, unless it is only a word the message has anyway.
				_, other := MySQLConfig(strings.Replace(databaseURL, ":"+raw+"@", ":Zq9Zq9Zq9@", 1))
				if other == nil || !strings.Contains(other.Error(), pw) {
					t.Fatalf("MySQLConfig(%q): error %q shows the password", databaseURL, err)
				}
			}
			return
		}
		if cfg.DBName == "" || strings.Contains(cfg.DBName, "/") || !cfg.ParseTime || cfg.Loc != time.UTC ||
			cfg.Net != "tcp" || cfg.Params["time_zone"] != "'+00:00'" || cfg.InterpolateParams || cfg.MultiStatements {
			t.Fatalf("MySQLConfig(%q) = %+v", databaseURL, cfg)
		}
		back, err := mysql.ParseDSN(cfg.FormatDSN())
		if err != nil {
			return // the driver refuses it when it connects, with its own error
		}
		if back.Addr != cfg.Addr || back.User != cfg.User || back.Passwd != cfg.Passwd || back.DBName != cfg.DBName {
			t.Fatalf("MySQLConfig(%q): DSN %q reads back as %s@%s/%s", databaseURL, cfg.FormatDSN(), back.User, back.Addr, back.DBName)
		}
	})
}

// password is the password of rawURL as url.Parse would find it: as written, and
// decoded.
func password(rawURL string) (raw, decoded string) {
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return "", ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i] // the authority, as url.Parse splits it
	}
	i := strings.LastIndex(rest, "@")
	if i < 0 {
		return "", ""
	}
	_, raw, ok = strings.Cut(rest[:i], ":")
	if !ok {
		return "", ""
	}
	if p, err := url.PathUnescape(raw); err == nil {
		return raw, p
	}
	return raw, raw
}
