package db

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

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
			if pw := password(databaseURL); len(pw) >= 4 && strings.Contains(err.Error(), pw) {
				t.Fatalf("MySQLConfig(%q): error %q shows the password", databaseURL, err)
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

// password is the password of rawURL as url.Parse would find it, raw and decoded.
func password(rawURL string) string {
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return ""
	}
	userinfo, _, ok := strings.Cut(rest, "@")
	if !ok {
		return ""
	}
	_, pw, ok := strings.Cut(userinfo, ":")
	if !ok {
		return ""
	}
	if p, err := url.PathUnescape(pw); err == nil && len(p) >= 4 {
		return p
	}
	return pw
}
