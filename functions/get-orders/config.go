package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/ordersync/ordersync/shared/db"
)

// Database authentication modes (DB_AUTH).
const (
	AuthSecret = "secret" // user and password from the Secrets Manager secret DB_SECRET_ARN
	AuthIAM    = "iam"    // an RDS IAM authentication token for DB_USER, made per connection
)

// TLS modes (DB_TLS).
const (
	TLSVerify     = "verify"      // the server certificate is checked against the system roots and DB_CA_FILE
	TLSSkipVerify = "skip-verify" // encrypted, certificate not checked
	TLSOff        = "off"         // plaintext: only for a local database
)

// Pool and network bounds. A Lambda execution environment serves one request at a time:
// two connections let a read go on while a broken one is replaced.
const (
	maxConns     = 2
	connLifetime = 10 * time.Minute
	dialTimeout  = 2 * time.Second
	ioTimeout    = 5 * time.Second // the driver's own bound on a read or write; requests have a shorter context
)

// config is what get-orders reads from its environment.
type config struct {
	databaseURL  string // mysql://user:pass@host:port/db; wins over the DB_* variables
	databaseFile string // the SQLite file of the local stack (built with -tags sqlite only)
	endpoint     string // DB_ENDPOINT host:port
	name, user   string // DB_NAME, DB_USER
	auth         string // DB_AUTH
	secretARN    string // DB_SECRET_ARN
	secretsURL   string // where Secrets Manager answers (secretsEndpoint)
	tls, caFile  string // DB_TLS, DB_CA_FILE
	region       string // AWS_REGION
	queryTimeout time.Duration
	cursorKey    []byte
}

// ErrConfig is returned by configFromEnv for a variable it cannot use.
var ErrConfig = errors.New("bad configuration")

// configFromEnv reads and checks the configuration.
func configFromEnv(getenv func(string) string) (config, error) {
	c := config{
		databaseURL: getenv("DATABASE_URL"), databaseFile: getenv("DATABASE_FILE"),
		endpoint: getenv("DB_ENDPOINT"), name: getenv("DB_NAME"), user: getenv("DB_USER"),
		auth: getenv("DB_AUTH"), secretARN: getenv("DB_SECRET_ARN"),
		tls: getenv("DB_TLS"), caFile: getenv("DB_CA_FILE"), region: getenv("AWS_REGION"),
		queryTimeout: DefaultQueryTimeout,
	}
	if c.tls == "" {
		c.tls = TLSVerify
	}
	if s := getenv("DB_QUERY_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("%w: DB_QUERY_TIMEOUT %q is not a positive duration such as 3s", ErrConfig, s)
		}
		c.queryTimeout = d
	}
	// Cursors must verify on every execution environment, so the key is configured, not
	// random; without CURSOR_KEY they are still checked (bound to their user, altered
	// ones refused) but anyone who reads this source could make one.
	key := sha256.Sum256([]byte("ordersync get-orders cursor\x00" + getenv("CURSOR_KEY")))
	c.cursorKey = key[:]
	switch {
	case c.databaseURL != "" || c.endpoint == "" && c.databaseFile != "":
		return c, nil
	case c.endpoint == "":
		return c, fmt.Errorf("%w: DB_ENDPOINT (host:port of the database or its RDS Proxy) is required", ErrConfig)
	case c.name == "":
		return c, fmt.Errorf("%w: DB_NAME is required with DB_ENDPOINT", ErrConfig)
	case c.tls != TLSVerify && c.tls != TLSSkipVerify && c.tls != TLSOff:
		return c, fmt.Errorf("%w: DB_TLS %q, want %s, %s or %s", ErrConfig, c.tls, TLSVerify, TLSSkipVerify, TLSOff)
	}
	switch c.auth {
	case AuthSecret:
		if c.secretARN == "" || c.region == "" {
			return c, fmt.Errorf("%w: DB_SECRET_ARN and AWS_REGION are required with DB_AUTH=secret", ErrConfig)
		}
		c.secretsURL = secretsEndpoint(c.region, getenv)
	case AuthIAM:
		if c.user == "" || c.region == "" {
			return c, fmt.Errorf("%w: DB_USER and AWS_REGION are required with DB_AUTH=iam", ErrConfig)
		}
		if c.tls == TLSOff {
			return c, fmt.Errorf("%w: DB_AUTH=iam needs TLS (DB_TLS=verify or skip-verify)", ErrConfig)
		}
	default:
		return c, fmt.Errorf("%w: DB_AUTH %q, want %s or %s", ErrConfig, c.auth, AuthSecret, AuthIAM)
	}
	return c, nil
}

// openSQLite opens the local stack's SQLite file; set by sqlite.go in builds with
// -tags sqlite, nil in the Lambda build, which carries no SQLite driver.
var openSQLite func(file string) (*sql.DB, error)

// open returns the pool get-orders reads through, and where it points for the log. It
// does not connect: the first request does, so a database that is down at start-up
// costs 503s until it is back, not a failed start.
func open(ctx context.Context, c config) (*sql.DB, string, error) {
	if c.databaseURL == "" && c.endpoint == "" {
		if openSQLite == nil {
			return nil, "", fmt.Errorf("%w: DATABASE_FILE needs a build with -tags sqlite; set DB_ENDPOINT or DATABASE_URL", ErrConfig)
		}
		sqldb, err := openSQLite(c.databaseFile)
		return sqldb, "sqlite " + c.databaseFile, err
	}
	cfg, err := c.mysqlConfig(ctx)
	if err != nil {
		return nil, "", err
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrConfig, err)
	}
	sqldb := sql.OpenDB(connector)
	sqldb.SetMaxOpenConns(maxConns)
	sqldb.SetMaxIdleConns(maxConns)
	sqldb.SetConnMaxLifetime(connLifetime)
	return sqldb, "mysql " + cfg.Addr + "/" + cfg.DBName, nil
}

// mysqlConfig is the driver configuration: from DATABASE_URL, or from the DB_*
// variables with their credentials. Both get the pool's timeouts and client-side
// placeholder interpolation: one round trip per read, and no server-side prepared
// statement that would pin an RDS Proxy connection.
func (c config) mysqlConfig(ctx context.Context) (*mysql.Config, error) {
	var cfg *mysql.Config
	if c.databaseURL != "" {
		var err error
		if cfg, err = db.MySQLConfig(c.databaseURL); err != nil {
			return nil, err
		}
	} else {
		var err error
		if cfg, err = c.endpointConfig(ctx); err != nil {
			return nil, err
		}
	}
	cfg.Timeout = dialTimeout
	cfg.ReadTimeout = ioTimeout
	cfg.WriteTimeout = ioTimeout
	cfg.InterpolateParams = true
	return cfg, nil
}

func (c config) endpointConfig(ctx context.Context) (*mysql.Config, error) {
	cfg, err := db.MySQLConfig("mysql://" + c.endpoint + "/" + c.name)
	if err != nil {
		return nil, fmt.Errorf("%w: DB_ENDPOINT / DB_NAME: %w", ErrConfig, err)
	}
	if cfg.TLS, err = c.tlsConfig(cfg.Addr); err != nil {
		return nil, err
	}
	var creds credentials
	switch c.auth {
	case AuthSecret:
		creds, err = newSecretCredentials(ctx, c)
	case AuthIAM:
		creds, err = newIAMCredentials(c, cfg.Addr)
		// The token travels as a clear-text password, which TLS protects.
		cfg.AllowCleartextPasswords = true
	}
	if err != nil {
		return nil, err
	}
	if err := cfg.Apply(mysql.BeforeConnect(creds.beforeConnect)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return cfg, nil
}

func (c config) tlsConfig(addr string) (*tls.Config, error) {
	switch c.tls {
	case TLSOff:
		return nil, nil
	case TLSSkipVerify:
		return &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: DB_ENDPOINT %q: %w", ErrConfig, addr, err)
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, fmt.Errorf("%w: DB_CA_FILE: %w", ErrConfig, err)
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: DB_CA_FILE %s holds no PEM certificate", ErrConfig, c.caFile)
		}
		t.RootCAs = roots
	}
	return t, nil
}
