// Command local runs the ordersync pipeline on one machine, without Docker or AWS:
// an embedded Kafka broker, the function binaries under a Lambda Runtime API emulator,
// an HTTP API gateway and a Kafka trigger both read from template.yaml, and a JDBC-style
// sink that applies connect/orders-sink.json.
//
//	go run ./local            the whole stack
//	go run ./local broker     the embedded broker only
//	go run ./local sink       the sink only (KAFKA_BROKERS, DATABASE_URL)
//	go run ./local migrate    apply db/migrations to DATABASE_URL
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ordersync local:", err)
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
		}
	}
	return runStack(args)
}
