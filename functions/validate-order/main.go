// Command validate-order is the Lambda function behind the Kafka trigger on the submitted
// topic: it re-checks every order and publishes it as ACCEPTED or REJECTED, or sends the
// record to the dead-letter topic when it cannot be decoded.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordersync/ordersync/shared/kafka"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "validate-order:", err)
		os.Exit(1)
	}
}

func run() error {
	level, err := logLevel(os.Getenv("LOG_LEVEL"))
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

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
	lambda.StartWithOptions(h.Handle,
		lambda.WithContext(ctx),
		lambda.WithEnableSIGTERM(func() {
			if err := cl.Flush(ctx); err != nil {
				log.Warn("flush on shutdown", slog.Any("error", err))
			}
			cl.Close()
		}))
	return nil
}

// logLevel parses LOG_LEVEL: debug, info (the default), warn or error.
func logLevel(s string) (slog.Level, error) {
	var l slog.Level
	if s == "" {
		return slog.LevelInfo, nil
	}
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("LOG_LEVEL: unknown level %q (want debug, info, warn or error)", s)
	}
	return l, nil
}
