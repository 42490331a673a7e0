package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ordersync/ordersync/local/broker"
	"github.com/ordersync/ordersync/local/console"
	"github.com/ordersync/ordersync/local/stack"
	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/sink"
)

const brokerUsage = `usage: go run ./cmd/ordersync broker [flags]

Runs only the embedded Kafka broker (kfake), with the pipeline's topics created and
its data kept under --data, for functions and sinks run some other way. With
--advertise HOST:PORT it listens on all interfaces and names HOST:PORT in metadata,
so that a container reaches it, e.g. for sam local invoke:

  go run ./cmd/ordersync broker --advertise host.docker.internal:9092
  sam local invoke CreateOrderFunction -e events/create-order.json --env-vars env.json

Flags:
`

// runBroker runs the embedded broker until SIGINT or SIGTERM.
func runBroker(args []string) error {
	fs := newFlagSet("broker", brokerUsage)
	addr := fs.String("kafka", stack.DefaultKafka, "address to listen on (with --advertise: its port, on all interfaces)")
	advertise := fs.String("advertise", "", "HOST:PORT to advertise in metadata (e.g. host.docker.internal:9092)")
	data := fs.String("data", stack.DefaultData, "directory for the broker's data (in <data>/kafka)")
	partitions := fs.Int("partitions", stack.DefaultPartitions, "partitions of each created topic")
	fsync := fs.Bool("fsync", false, "fsync every write (survives a machine crash, not only a crash of the broker; slower)")
	var sinkConfigs listFlag
	fs.Var(&sinkConfigs, "sink-config", "connector config `file` whose topics and dead-letter queue to create too; repeat or\ncomma-separate for several (default "+strings.Join(stack.DefaultSinkConfigs, ",")+")")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	topics, err := brokerTopics(sinkConfigs)
	if err != nil {
		return err
	}
	if *advertise != "" {
		if _, port, err := net.SplitHostPort(*advertise); err == nil {
			if _, _, err := net.SplitHostPort(*addr); err == nil && *addr == stack.DefaultKafka {
				// Listen on the advertised port unless told otherwise.
				*addr = net.JoinHostPort("0.0.0.0", port)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level, err := logging.Level(os.Getenv("LOG_LEVEL"))
	if err != nil {
		return err
	}
	out := console.New(os.Stderr, console.WithLevel(level))
	if err := os.MkdirAll(*data, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	unlock, err := stack.Lock(*data)
	if err != nil {
		return err
	}
	defer unlock()
	dir := filepath.Join(*data, "kafka")
	b, err := broker.Start(ctx, broker.Config{
		Addr:       *addr,
		Advertise:  *advertise,
		DataDir:    dir,
		Partitions: *partitions,
		Topics:     topics,
		SyncWrites: *fsync,
		Log:        out.Logger("broker"),
	})
	if err != nil {
		return err
	}
	out.Logf("broker", "Kafka on %s (listening on %s), topics %s, data in %s; Ctrl-C stops it",
		strings.Join(b.Addrs(), ","), *addr, strings.Join(topics, ", "), dir)
	<-ctx.Done()
	b.Close()
	out.Logf("broker", "stopped; data kept in %s", dir)
	return nil
}

// brokerTopics are the topics the broker creates: shared/kafka's (ORDERS_*_TOPIC) and
// those the connector files read and dead-letter to.
func brokerTopics(sinkConfigs []string) ([]string, error) {
	kcfg, err := kafka.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	root := "."
	if len(sinkConfigs) == 0 {
		sinkConfigs = stack.DefaultSinkConfigs
		if root, err = projectRoot(stack.DefaultTemplate); err != nil {
			return nil, err
		}
	}
	var extra []string
	for _, p := range sinkConfigs {
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		sc, err := sink.LoadConfig(p)
		if err != nil {
			return nil, fmt.Errorf("--sink-config: %w", err)
		}
		extra = append(extra, sc.Topics...)
		extra = append(extra, sc.DLQTopic)
	}
	return broker.Topics(kcfg.Topics, extra...), nil
}
