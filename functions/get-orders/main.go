// Command get-orders is the Lambda function behind GET /order-service/{userId}/orders and
// GET /order-service/{userId}/orders/{orderId}: it reads a user's orders from the
// database the JDBC sink writes.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/logging"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "get-orders:", err)
		os.Exit(1)
	}
}

func run() error {
	log, err := logging.New(os.Stderr, os.Getenv)
	if err != nil {
		return err
	}
	slog.SetDefault(log)

	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	db, where, err := open(context.Background(), cfg)
	if err != nil {
		return err
	}
	log.Debug("database", slog.String("where", where))
	h := NewHandler(db, cfg.cursorKey, log)
	h.QueryTimeout = cfg.queryTimeout
	// No SIGTERM hook: a read leaves nothing to flush, and the hook would cost a Runtime
	// API round trip at start-up.
	lambda.Start(logging.Handler(httpapi.Invoke(h.Handle)))
	return nil
}
