package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestConfigRefused(t *testing.T) {
	endpoint := []string{"DB_ENDPOINT", "db.example:3306", "DB_NAME", "orders"}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"nothing set", nil, "DB_ENDPOINT"},
		{"no DB_NAME", []string{"DB_ENDPOINT", "db.example:3306", "DB_AUTH", "iam"}, "DB_NAME"},
		{"no DB_AUTH", endpoint, "DB_AUTH"},
		{"unknown DB_AUTH", append(endpoint, "DB_AUTH", "password"), "DB_AUTH"},
		{"secret without ARN", append(endpoint, "DB_AUTH", "secret"), "DB_SECRET_ARN"},
		{"iam without user", append(endpoint, "DB_AUTH", "iam", "AWS_REGION", "eu-west-1"), "DB_USER"},
		{"iam without TLS", append(endpoint, "DB_AUTH", "iam", "DB_USER", "reader", "AWS_REGION", "eu-west-1", "DB_TLS", "off"), "needs TLS"},
		{"unknown DB_TLS", append(endpoint, "DB_AUTH", "iam", "DB_TLS", "yes"), "DB_TLS"},
		{"bad timeout", []string{"DATABASE_URL", "mysql://root@127.0.0.1/test", "DB_QUERY_TIMEOUT", "3"}, "DB_QUERY_TIMEOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configFromEnv(env(tc.env...))
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrConfig naming %s", err, tc.want)
			}
		})
	}
}

// Without -tags sqlite (the Lambda build) a DATABASE_FILE cannot be opened: the
// binary carries no SQLite driver.
func TestLambdaBuildHasNoSQLite(t *testing.T) {
	if openSQLite != nil {
		t.Skip("built with -tags sqlite")
	}
	c, err := configFromEnv(env("DATABASE_FILE", "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := open(context.Background(), c); !errors.Is(err, ErrConfig) {
		t.Fatalf("open = %v, want ErrConfig", err)
	}
}

// IAM authentication: each new connection gets a token for DB_USER, made again before
// the 15 minutes it is valid for run out; the connection uses TLS and the clear-text
// plugin the token needs.
func TestIAMCredentials(t *testing.T) {
	setAWSKeys(t)
	c, err := configFromEnv(env("DB_ENDPOINT", "proxy.proxy-abc.eu-west-1.rds.amazonaws.com", "DB_NAME", "orders",
		"DB_AUTH", "iam", "DB_USER", "ordersync_reader", "AWS_REGION", "eu-west-1"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := c.mysqlConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS == nil || cfg.TLS.ServerName != "proxy.proxy-abc.eu-west-1.rds.amazonaws.com" || !cfg.AllowCleartextPasswords ||
		cfg.Addr != "proxy.proxy-abc.eu-west-1.rds.amazonaws.com:3306" || !cfg.InterpolateParams || cfg.Timeout != dialTimeout || cfg.ReadTimeout != ioTimeout {
		t.Fatalf("driver config: %+v", cfg)
	}
	ic, err := newIAMCredentials(c, cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ic.now = func() time.Time { return now }
	token := func() string {
		var conn mysql.Config
		if err := ic.beforeConnect(context.Background(), &conn); err != nil {
			t.Fatal(err)
		}
		if conn.User != "ordersync_reader" {
			t.Fatalf("user %q", conn.User)
		}
		return conn.Passwd
	}
	first := token()
	if !strings.HasPrefix(first, "proxy.proxy-abc.eu-west-1.rds.amazonaws.com:3306?Action=connect&DBUser=ordersync_reader") ||
		!strings.Contains(first, "X-Amz-Security-Token="+testToken) {
		t.Fatalf("token %s", first)
	}
	made := ic.made
	now = now.Add(9 * time.Minute)
	if token() != first || !ic.made.Equal(made) {
		t.Fatal("a token was made again within its reuse time")
	}
	now = now.Add(2 * time.Minute)
	if token(); !ic.made.Equal(now) {
		t.Fatal("a token 11 minutes old was not made again")
	}
}

func TestCAFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := config{tls: TLSVerify, caFile: bad}
	if _, err := c.tlsConfig("db.example:3306"); !errors.Is(err, ErrConfig) {
		t.Fatalf("tlsConfig with a bad DB_CA_FILE = %v", err)
	}
}
