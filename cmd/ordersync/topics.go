package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ordersync/ordersync/local/stack"
	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/kafka/admin"
	"github.com/ordersync/ordersync/sink"
)

const topicsUsage = `usage: go run ./cmd/ordersync topics [flags]

Creates the pipeline's topics on KAFKA_BROKERS (KAFKA_AUTH, KAFKA_TLS, KAFKA_USERNAME,
KAFKA_PASSWORD and the ORDERS_*_TOPIC names as for the functions), plus each sink
config's topics and dead-letter topic, with the given partitions, replication factor
and min.insync.replicas. Topics that exist are checked, never changed: one that falls
short is reported and the command exits 1. Safe to run again.
`

// runTopics creates the pipeline's topics on KAFKA_BROKERS with durable settings, or
// reports how existing ones differ.
func runTopics(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return topics(ctx, args, os.Getenv, os.Stdout)
}

func topics(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := newFlagSet("topics", topicsUsage)
	spec := admin.Default
	var partitions, rf, isr int
	fs.IntVar(&partitions, "partitions", int(spec.Partitions), "partitions of a new topic, and the least an existing one needs")
	fs.IntVar(&rf, "replication-factor", int(spec.ReplicationFactor), "replicas of every partition (3 on a 3-AZ MSK cluster)")
	fs.IntVar(&isr, "min-insync-replicas", spec.MinInsyncReplicas, "min.insync.replicas: replicas an acks=all write needs")
	dryRun := fs.Bool("dry-run", false, "create nothing; report what would be created and what differs")
	var configs listFlag
	fs.Var(&configs, "sink-config", "connector config `file` whose topics and DLQ topic are included; repeat or comma-separate\n(default "+strings.Join(stack.DefaultSinkConfigs, ",")+")")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if partitions > 1<<20 || rf > 1<<10 {
		return fmt.Errorf("topics: --partitions %d or --replication-factor %d is out of range", partitions, rf)
	}
	spec = admin.Spec{Partitions: int32(partitions), ReplicationFactor: int16(rf), MinInsyncReplicas: isr}
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	if len(configs) == 0 {
		configs = stack.DefaultSinkConfigs
	}
	kcfg, err := kafka.ConfigFromEnv(getenv)
	if err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	names := kcfg.Topics.Names()
	for _, path := range configs {
		cfg, err := sink.LoadConfig(path)
		if err != nil {
			return fmt.Errorf("topics: %w", err)
		}
		names = append(names, cfg.Topics...)
		if cfg.DLQTopic != "" {
			names = append(names, cfg.DLQTopic)
		}
	}
	cl, err := kafka.NewClient(ctx, kcfg)
	if err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	defer cl.Close()
	results, err := admin.Ensure(ctx, cl, names, spec, *dryRun)
	for _, r := range results {
		line := fmt.Sprintf("%-13s %s", r.Action, r.Topic)
		if len(r.Problems) > 0 {
			line += ": " + strings.Join(r.Problems, "; ")
		}
		fmt.Fprintln(out, line)
	}
	if errors.Is(err, admin.ErrMismatch) {
		return fmt.Errorf("topics: %w; they were left as they are (raise partitions with kafka-topics --alter, the replication factor with a partition reassignment, min.insync.replicas with kafka-configs --alter)", err)
	}
	if err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	return nil
}
