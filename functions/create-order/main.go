// Command create-order is the Lambda function behind POST /order-service/{userId}/orders:
// it publishes each valid order to the submitted topic and answers 201 once Kafka has it.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/metrics"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "create-order:", err)
		os.Exit(1)
	}
}

func run() error {
	log, err := logging.New(os.Stderr, os.Getenv)
	if err != nil {
		return err
	}
	logging.SetDefault(log)

	cfg, err := kafka.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	ctx := context.Background()
	cl, err := kafka.NewClient(ctx, cfg)
	if err != nil {
		return err
	}
	h := NewHandler(cl, cfg.Topics.Submitted, log)
	if h.Metrics, err = metrics.FromEnv(os.Getenv, "create-order", os.Stdout); err != nil {
		return err
	}

	lambda.StartWithOptions(logging.Invocations(log, h.Handle), lambda.WithEnableSIGTERM(func() {
		// Lambda allows about 500 ms after SIGTERM; every acknowledged record is already
		// stored, so this only tidies up what a cut-short request left behind.
		fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if err := cl.Flush(fctx); err != nil {
			log.Warn("flush on shutdown", slog.Any("error", err))
		}
		cl.Close()
	}))
	return nil
}
