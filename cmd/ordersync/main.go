// Command ordersync is the one CLI of the project. With no sub-command it runs the
// whole pipeline on one machine, without Docker or AWS: an embedded Kafka broker, the
// function binaries under a Lambda Runtime API emulator, an HTTP API gateway and a Kafka
// trigger both read from template.yaml, and the sink applying connect/orders-sink.json.
// The sub-commands run one piece each, also against production Kafka and databases.
//
//	go run ./cmd/ordersync            the whole stack
//	go run ./cmd/ordersync broker     the embedded broker only
//	go run ./cmd/ordersync sink       the sink only (KAFKA_BROKERS, DATABASE_URL)
//	go run ./cmd/ordersync migrate    apply db/migrations to DATABASE_URL
//	go run ./cmd/ordersync topics     create the topics on KAFKA_BROKERS, durably
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	// --help has printed the usage: a request answered, not a failure.
	if err := run(os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "ordersync:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "broker":
			return runBroker(args[1:])
		case "sink":
			return runSink(args[1:])
		case "migrate":
			return runMigrate(args[1:])
		case "topics":
			return runTopics(args[1:])
		}
		if !strings.HasPrefix(args[0], "-") {
			return fmt.Errorf("unknown command %q (want broker, sink, migrate or topics)", args[0])
		}
	}
	return runStack(args)
}
