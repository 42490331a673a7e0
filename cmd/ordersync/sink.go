package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/metrics"
	"github.com/ordersync/ordersync/sink"
)

const sinkUsage = `usage: go run ./cmd/ordersync sink [flags]

Applies Kafka Connect JdbcSinkConnector configs (connect/*.json) locally: consumes
their topics from KAFKA_BROKERS (default 127.0.0.1:9092; KAFKA_AUTH, KAFKA_TLS,
KAFKA_USERNAME and KAFKA_PASSWORD as for the functions) in group connect-<name> and
writes to DATABASE_URL (mysql://user:pass@host:port/db), or, when it is unset, to the
embedded SQLite file <data>/ordersync.db. Stop with Ctrl-C: the batch in flight is
written and committed first.
`

// runSink runs the JDBC-style sink alone: one consumer per connector file, against
// KAFKA_BROKERS and DATABASE_URL (or the embedded SQLite file).
func runSink(args []string) error {
	fs := newFlagSet("sink", sinkUsage)
	var configs listFlag
	fs.Var(&configs, "sink-config", "connector config `file`; repeat or comma-separate for several (default connect/orders-sink.json)")
	dataDir := fs.String("data", ".local", "directory of the embedded SQLite file")
	doMigrate := fs.Bool("migrate", false, "apply db/migrations before starting, as the migrate sub-command does")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if len(configs) == 0 {
		configs = listFlag{"connect/orders-sink.json"}
	}
	log, err := logging.New(os.Stderr, os.Getenv) // JSON, at LOG_LEVEL
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	slog.SetDefault(log) // where shared/kafka's clients send franz-go's warnings
	cfgs, err := loadSinkConfigs(configs, log)
	if err != nil {
		return err
	}
	kcfg, err := kafka.ConfigFromEnv(os.Getenv) // KAFKA_BROKERS, KAFKA_AUTH, KAFKA_TLS, ...
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, err := openSinkDB(ctx, *dataDir, *doMigrate)
	if err != nil {
		return err
	}
	defer store.Close()

	sinks := make([]*sink.Sink, 0, len(cfgs))
	for _, cfg := range cfgs {
		m, err := metrics.FromEnv(os.Getenv, "sink", os.Stdout)
		if err != nil {
			return err
		}
		s, err := sink.Open(ctx, cfg, store, kcfg)
		if err != nil {
			return err
		}
		s.Logger, s.Metrics = log, m
		sinks = append(sinks, s)
	}
	return runSinks(ctx, sinks)
}

// loadSinkConfigs reads the connector files, warning about keys Kafka Connect does not
// know.
func loadSinkConfigs(paths []string, log *slog.Logger) ([]sink.Config, error) {
	var cfgs []sink.Config
	for _, path := range paths {
		cfg, err := sink.LoadConfig(path)
		if err != nil {
			return nil, fmt.Errorf("sink: %w", err)
		}
		if unknown := cfg.Unknown(); len(unknown) > 0 {
			log.Warn("connector config keys Kafka Connect does not know; they have no effect", slog.String("file", path), slog.Any("keys", unknown))
		}
		cfgs = append(cfgs, cfg)
	}
	return cfgs, nil
}

// openSinkDB opens DATABASE_URL or the SQLite file under dataDir, migrated if asked.
func openSinkDB(ctx context.Context, dataDir string, migrate bool) (*db.DB, error) {
	store, err := db.Open(ctx, os.Getenv("DATABASE_URL"), dataDir)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	if migrate {
		if err := db.Apply(ctx, store.SQL, store.Dialect); err != nil {
			store.Close()
			return nil, fmt.Errorf("sink: migrate: %w", err)
		}
	}
	return store, nil
}

// runSinks runs the sinks until ctx ends; one failing stops the others, as a failed
// task would be restarted by hand.
func runSinks(ctx context.Context, sinks []*sink.Sink) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(sinks))
	var wg sync.WaitGroup
	for i, s := range sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = s.Run(ctx); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
