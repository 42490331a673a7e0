// Command validate-order is the Lambda function behind the Kafka trigger on the submitted
// topic: it re-checks every order and publishes it as ACCEPTED or REJECTED, or sends the
// record to the dead-letter topic when it cannot be decoded.
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
		fmt.Fprintln(os.Stderr, "validate-order:", err)
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
	var catalog Catalog
	if path := os.Getenv("CATALOG_FILE"); path != "" {
		if catalog, err = LoadCatalog(path); err != nil {
			return err
		}
		log.Info("catalog loaded", slog.String("file", path), slog.Int("products", len(catalog)))
	}

	ctx := context.Background()
	cl, err := kafka.NewClient(ctx, cfg)
	if err != nil {
		return err
	}
	h := &Handler{Producer: cl, Topics: cfg.Topics, Catalog: catalog, Log: log}
	switch v := os.Getenv("REPORT_BATCH_ITEM_FAILURES"); v {
	case "", "false":
	case "true":
		h.ReportBatchItemFailures = true
	default:
		return fmt.Errorf("REPORT_BATCH_ITEM_FAILURES: %q is not true or false", v)
	}
	if h.Metrics, err = metrics.FromEnv(os.Getenv, "validate-order", os.Stdout); err != nil {
		return err
	}
	lambda.StartWithOptions(logging.Invocations(log, h.Handle),
		lambda.WithContext(ctx),
		lambda.WithEnableSIGTERM(func() {
			// Lambda allows about 500 ms after SIGTERM; an invocation returns only after
			// its outputs are acknowledged, so this only tidies up.
			fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			if err := cl.Flush(fctx); err != nil {
				log.Warn("flush on shutdown", slog.Any("error", err))
			}
			cl.Close()
		}))
	return nil
}
