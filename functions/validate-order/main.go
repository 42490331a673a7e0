// Command validate-order is the Lambda function behind the Kafka trigger on the submitted
// topic: it re-checks every order and publishes it as ACCEPTED or REJECTED, or sends the
// record to the dead-letter topic when it cannot be decoded.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/metrics"
	"github.com/ordersync/ordersync/shared/order"
)

func main() { logging.Main("validate-order", run) }

func run(log *slog.Logger) error {
	var catalog Catalog
	if path := os.Getenv("CATALOG_FILE"); path != "" {
		var err error
		if catalog, err = LoadCatalog(path); err != nil {
			return err
		}
		log.Info("catalog loaded", slog.String("file", path), slog.Int("products", len(catalog)))
	}

	// The order codec is built by reflection: off the critical path, while the runtime
	// hands over the first event.
	go order.Codec.Build()

	// Connecting starts in the background: init does not wait for the broker, and the
	// first batch uses whatever is ready.
	ctx := context.Background()
	p, cfg, err := kafka.ProducerFromEnv(ctx, os.Getenv)
	if err != nil {
		return err
	}
	h := &Handler{Producer: p, Topics: cfg.Topics, Catalog: catalog, Log: log}
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

	// No lambda.WithEnableSIGTERM: it registers an extension, one more Runtime API round
	// trip before the first /invocation/next, and the flush it would buy on SIGTERM saves
	// nothing. An invocation returns only after all its outputs are acknowledged, so a
	// record still buffered at shutdown belongs to a request that was already answered
	// with an error and will be retried; producing it late is harmless (order ids are
	// deterministic and every consumer upserts by id) and losing it is too.
	lambda.StartWithOptions(logging.Handler(kafka.OnInvoke(p, logging.Invocations(log, h.Invoke))), lambda.WithContext(ctx))
	return nil
}
