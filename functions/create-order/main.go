// Command create-order is the Lambda function behind POST /order-service/{userId}/orders:
// it publishes each valid order to the submitted topic and answers 201 once Kafka has it.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordersync/ordersync/shared/httpapi"
	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/metrics"
	"github.com/ordersync/ordersync/shared/order"
)

func main() { logging.Main("create-order", run) }

func run(log *slog.Logger) error {
	// The order codec is built by reflection: off the critical path, while the runtime
	// hands over the first event.
	go order.Codec.Build()

	// Connecting starts in the background: init does not wait for the broker, and the
	// first request uses whatever is ready.
	p, cfg, err := kafka.ProducerFromEnv(context.Background(), os.Getenv)
	if err != nil {
		return err
	}
	h := NewHandler(p, cfg.Topics.Submitted, log)
	if h.Metrics, err = metrics.FromEnv(os.Getenv, "create-order", os.Stdout); err != nil {
		return err
	}

	// No lambda.WithEnableSIGTERM: it registers an extension, one more Runtime API round
	// trip before the first /invocation/next, and the flush it would buy on SIGTERM saves
	// nothing. A 201 is answered only once Kafka has acknowledged the record, so a
	// record still buffered at shutdown belongs to a request that was already answered
	// with an error and will be retried; producing it late is harmless (order ids are
	// deterministic and every consumer upserts by id) and losing it is too.
	lambda.Start(logging.Handler(kafka.OnInvoke(p, logging.Invocations(log, httpapi.Invoke(h.Handle)))))
	return nil
}
