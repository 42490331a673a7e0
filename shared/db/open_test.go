package db

import (
	"errors"
	"testing"
	"time"
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
