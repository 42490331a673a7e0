package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ordersync/ordersync/local/console"
	"github.com/ordersync/ordersync/local/stack"
)

const stackUsage = `usage: go run ./cmd/ordersync [flags]          (make run)
       go run ./cmd/ordersync broker [flags]   the embedded Kafka broker only
       go run ./cmd/ordersync sink [flags]     the sink only
       go run ./cmd/ordersync migrate [flags]  apply db/migrations

Runs the whole pipeline on this machine, without Docker or AWS: an embedded Kafka
broker, the functions of template.yaml as real processes under a Lambda Runtime API
emulator, an HTTP API gateway and Kafka triggers read from template.yaml, and the
JDBC sinks of the connector files. Ctrl-C drains in-flight work and exits.

Environment:
  KAFKA_BROKERS      use this Kafka (comma-separated seed brokers) instead of the
                     embedded broker; --kafka is then ignored and missing topics are
                     created
  KAFKA_AUTH, KAFKA_TLS, KAFKA_USERNAME, KAFKA_PASSWORD
                     how to reach KAFKA_BROKERS (none, scram-sha-512, msk-iam)
  DATABASE_URL       mysql://user:pass@host:port/db for the sinks; unset means the
                     embedded SQLite file <data>/ordersync.db. Migrations are applied
                     either way.
  LOG_LEVEL          debug, info (default), warn, error: the stack's and the
                     functions' logs; any other value stops the stack at start
  CATALOG_FILE, ORDERS_*_TOPIC, ...
                     any variable of template.yaml's Environment set here overrides the
                     template's value for the functions
  AWS_REGION         the region the functions are told they run in (us-east-1)

Flags:
`

// runStack runs the whole local pipeline until SIGINT or SIGTERM.
func runStack(args []string) error {
	fs := newFlagSet("ordersync local", stackUsage)
	var sinkConfigs listFlag
	httpAddr := fs.String("http", stack.DefaultHTTP, "address of the HTTP API gateway")
	kafkaAddr := fs.String("kafka", stack.DefaultKafka, "address of the embedded Kafka broker (ignored when KAFKA_BROKERS is set)")
	data := fs.String("data", stack.DefaultData, "directory for Kafka's data, the function binaries and the SQLite file")
	fs.Var(&sinkConfigs, "sink-config", "connector config `file` for a sink; repeat or comma-separate for several\n(default "+strings.Join(stack.DefaultSinkConfigs, ",")+")")
	partitions := fs.Int("partitions", stack.DefaultPartitions, "partitions of each topic the stack creates")
	concurrency := fs.Int("concurrency", stack.DefaultConcurrency, "most processes (concurrent invocations) per function")
	template := fs.String("template", stack.DefaultTemplate, "the SAM template to run")
	fsync := fs.Bool("fsync", false, "fsync every broker write (survives a machine crash, not only a crash of the stack; slower)")
	var params listFlag
	fs.Var(&params, "param", "template parameter Name=Value, as sam deploy --parameter-overrides (repeatable),\ne.g. --param KafkaSource=SelfManagedKafka")
	logFormat := fs.String("log-format", "text", "text: one line per event, time [component] LEVEL message key=value;\njson: one JSON object per line")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	format, err := console.ParseFormat(*logFormat)
	if err != nil {
		return err
	}
	if *partitions < 1 || *concurrency < 1 {
		return fmt.Errorf("--partitions and --concurrency must be at least 1")
	}
	overrides := map[string]string{}
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return fmt.Errorf("--param %q: want Name=Value", p)
		}
		overrides[k] = v
	}
	dir, err := projectRoot(*template)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		first := <-sigs
		cancel()
		at := time.Now()
		// A second Ctrl-C stops at once; one sent to the process and its group at the same
		// moment (as timeout(1) does) counts once.
		for s := range sigs {
			if time.Since(at) > time.Second {
				fmt.Fprintf(os.Stderr, "ordersync local: second %v after %v: stopping without draining\n", s, first)
				os.Exit(130)
			}
		}
	}()
	return stack.Run(ctx, stack.Config{
		Dir:         dir,
		Template:    *template,
		Parameters:  overrides,
		HTTP:        *httpAddr,
		Kafka:       *kafkaAddr,
		Data:        *data,
		SinkConfigs: sinkConfigs,
		Partitions:  *partitions,
		Concurrency: *concurrency,
		Fsync:       *fsync,
		LookupEnv:   os.LookupEnv,
		Out:         os.Stderr,
		LogFormat:   format,
	})
}

// projectRoot is the working directory, or, when the template is not there, the nearest
// parent that holds it next to a go.mod, so that the command also works from a subfolder.
func projectRoot(template string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	if filepath.IsAbs(template) {
		return wd, nil
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if fileExists(filepath.Join(dir, template)) && fileExists(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return wd, nil
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
