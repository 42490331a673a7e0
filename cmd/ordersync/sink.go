package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/sink"
)

// sinkConfigFlag collects a repeatable, comma-separated flag.
type sinkConfigFlag []string

func (l *sinkConfigFlag) String() string { return strings.Join(*l, ",") }

func (l *sinkConfigFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// runSink runs the JDBC-style sink alone: one consumer per connector file, against
// KAFKA_BROKERS and DATABASE_URL (or the embedded SQLite file).
func runSink(args []string) error {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: go run ./cmd/ordersync sink [flags]

Applies Kafka Connect JdbcSinkConnector configs (connect/*.json) locally: consumes
their topics from KAFKA_BROKERS (default 127.0.0.1:9092; KAFKA_AUTH, KAFKA_TLS,
KAFKA_USERNAME and KAFKA_PASSWORD as for the functions) in group connect-<name> and
writes to DATABASE_URL (mysql://user:pass@host:port/db), or, when it is unset, to the
embedded SQLite file <data>/ordersync.db. Stop with Ctrl-C: the batch in flight is
written and committed first.`)
		fs.PrintDefaults()
	}
	var configs sinkConfigFlag
	fs.Var(&configs, "sink-config", "connector config file; repeat or comma-separate for several (default connect/orders-sink.json)")
	dataDir := fs.String("data", ".local", "directory of the embedded SQLite file")
	doMigrate := fs.Bool("migrate", false, "apply db/migrations before starting (what `go run ./cmd/ordersync migrate` does)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sink: unexpected argument %q", fs.Arg(0))
	}
	if len(configs) == 0 {
		configs = sinkConfigFlag{"connect/orders-sink.json"}
	}
	log, err := logging.New(os.Stderr, os.Getenv)
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	cfgs, err := loadSinkConfigs(log, configs)
	if err != nil {
		return err
	}
	kcfg, err := kafka.ConfigFromEnv(os.Getenv) // KAFKA_BROKERS, KAFKA_AUTH, KAFKA_TLS, ...
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, err := db.Open(ctx, os.Getenv("DATABASE_URL"), *dataDir)
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	defer store.Close()
	if *doMigrate {
		if err := db.Apply(ctx, store.SQL, store.Dialect); err != nil {
			return fmt.Errorf("sink: migrate: %w", err)
		}
	}
	sinks, err := newSinks(ctx, log, kcfg, store, cfgs)
	if err != nil {
		return err
	}
	return runSinks(ctx, sinks)
}

// loadSinkConfigs reads the connector files, warning about keys Kafka Connect does not
// know.
func loadSinkConfigs(log *slog.Logger, paths []string) ([]sink.Config, error) {
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

// newSinks builds one sink per config, each with its own client from shared/kafka.
func newSinks(ctx context.Context, log *slog.Logger, kcfg kafka.Config, store *db.DB, cfgs []sink.Config) ([]*sink.Sink, error) {
	sinks := make([]*sink.Sink, 0, len(cfgs))
	for _, cfg := range cfgs {
		cl, err := kafka.NewClient(ctx, kcfg, sink.ClientOpts(cfg)...)
		if err != nil {
			return nil, fmt.Errorf("sink %s: %w", cfg.Name, err)
		}
		s, err := sink.New(cfg, store, cl)
		if err != nil {
			cl.Close()
			return nil, err
		}
		s.Logger = log
		sinks = append(sinks, s)
	}
	return sinks, nil
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
