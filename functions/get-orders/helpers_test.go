package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/go-sql-driver/mysql"
	"github.com/google/uuid"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/logging"
)

// A dialect opens a fresh, migrated database for one test.
type dialect struct {
	name string
	open func(t testing.TB) *sql.DB
}

// dialects are MariaDB and SQLite (sqlite_helpers_test.go).
var dialects = []dialect{{db.MySQL, freshMariaDB}}

// forDialects runs test on MariaDB and on SQLite.
func forDialects(t *testing.T, test func(t *testing.T, sqldb *sql.DB)) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) { test(t, d.open(t)) })
	}
}

// mariaConfig is the driver configuration get-orders makes of databaseURL.
func mariaConfig(t testing.TB, databaseURL string) *mysql.Config {
	t.Helper()
	cfg, err := config{databaseURL: databaseURL}.mysqlConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// freshMariaDB creates a migrated database of its own, dropped when the test ends, and
// returns a pool on it configured as get-orders configures its own.
func freshMariaDB(t testing.TB) *sql.DB {
	t.Helper()
	sqldb := sql.OpenDB(mustConnector(t, mariaConfig(t, freshMaria(t).URL)))
	sqldb.SetMaxOpenConns(maxConns)
	t.Cleanup(func() { sqldb.Close() })
	if err := db.Apply(context.Background(), sqldb, db.MySQL); err != nil {
		t.Fatal(err)
	}
	return sqldb
}

// freshMaria creates an empty database on the test server, dropped when the test ends.
func freshMaria(t testing.TB) *testkit.Database {
	t.Helper()
	return testkit.MariaDB(t, "getorders")
}

func TestMain(m *testing.M) { testkit.Main(m) }

func mustConnector(t testing.TB, cfg *mysql.Config) driver.Connector {
	t.Helper()
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stored is one row as the sink writes it.
type stored struct {
	table             string // "orders" or "order_rejections"
	id, user, product string
	qty, unitPrice    int64
	createdAt         time.Time
	reason            string
}

// insert writes rows as the sink does: time.Time bound as a UTC DATETIME(3).
func insert(t testing.TB, sqldb *sql.DB, rows ...stored) {
	t.Helper()
	for _, r := range rows {
		status, reason := "ACCEPTED", any(nil)
		if r.table == "order_rejections" {
			status, reason = "REJECTED", r.reason
		}
		if _, err := sqldb.Exec("INSERT INTO "+r.table+" (order_id, user_id, product_id, qty, unit_price, total_price, status, created_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			r.id, r.user, r.product, r.qty, r.unitPrice, r.qty*r.unitPrice, status, r.createdAt.UTC().Truncate(time.Millisecond), reason); err != nil {
			t.Fatal(err)
		}
	}
}

func newID(t testing.TB) string {
	t.Helper()
	return uuid.NewString()
}

func testHandler(sqldb *sql.DB) *Handler {
	return NewHandler(sqldb, []byte("test key"), slog.New(logging.NewJSONHandler(io.Discard, nil)))
}

func lambdaCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(lambdacontext.NewContext(context.Background(),
		&lambdacontext.LambdaContext{AwsRequestID: "req-" + t.Name()}), d)
	t.Cleanup(cancel)
	return ctx
}

// getOne is API Gateway's event for GET /order-service/{user}/orders/{id}.
func getOne(user, id string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "GET /order-service/{userId}/orders/{orderId}",
		RawPath:        "/order-service/" + user + "/orders/" + id,
		PathParameters: map[string]string{"userId": user, "orderId": id},
	}
}

// getList is API Gateway's event for GET /order-service/{user}/orders?query.
func getList(user string, query map[string]string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "GET /order-service/{userId}/orders",
		RawPath:               "/order-service/" + user + "/orders",
		PathParameters:        map[string]string{"userId": user},
		QueryStringParameters: query,
	}
}

// apiOrder is the order object of an answer.
type apiOrder struct {
	OrderID, UserID, ProductID string
	Qty, UnitPrice, TotalPrice int64
	Status, CreatedAt          string
	Reason                     *string
}

type page struct {
	Orders     []apiOrder
	NextCursor *string
}

type problem struct {
	Type, Title, Detail string
	Status              int
	Errors              []struct{ Field, Message string }
}

func decode[T any](t testing.TB, r events.APIGatewayV2HTTPResponse) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		t.Fatalf("%d body %q: %v", r.StatusCode, r.Body, err)
	}
	return v
}

func applyMigrations(sqldb *sql.DB) error {
	return db.Apply(context.Background(), sqldb, db.MySQL)
}
