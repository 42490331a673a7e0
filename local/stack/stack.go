// Package stack provides the whole local pipeline in one process: Kafka, the functions of
// template.yaml under the Runtime API emulator, the HTTP API gateway, the Kafka triggers
// and the sinks, started in dependency order and drained in reverse.
package stack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/local/broker"
	"github.com/ordersync/ordersync/local/console"
	"github.com/ordersync/ordersync/local/gateway"
	"github.com/ordersync/ordersync/local/runtimeapi"
	"github.com/ordersync/ordersync/local/samtemplate"
	"github.com/ordersync/ordersync/local/trigger"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/sink"
)

// Defaults of the local command.
const (
	DefaultHTTP        = "127.0.0.1:3000"
	DefaultKafka       = "127.0.0.1:9092"
	DefaultData        = ".local"
	DefaultPartitions  = 3
	DefaultConcurrency = 4
	DefaultTemplate    = "template.yaml"
)

// DefaultSinkConfigs are the connector files the stack's sinks apply.
var DefaultSinkConfigs = []string{"connect/orders-sink.json", "connect/order-rejections-sink.json"}

// Config is what the ordersync CLI was asked to run.
type Config struct {
	Dir         string            // project root: template.yaml, Makefile, connect/ and functions/ live here
	Template    string            // relative to Dir
	Parameters  map[string]string // template parameter overrides
	HTTP        string
	Kafka       string // embedded broker address; unused when KAFKA_BROKERS is set
	Data        string
	SinkConfigs []string
	Partitions  int
	Concurrency int
	// Fsync makes the embedded broker fsync every write: acknowledged records then survive
	// a machine crash too, not only a crash of the stack.
	Fsync bool
	// LookupEnv reads the environment (os.LookupEnv): KAFKA_BROKERS and the other
	// KAFKA_* variables, DATABASE_URL, and overrides of the template's variables.
	LookupEnv func(string) (string, bool)
	Out       io.Writer // the log stream
	// Ready, if set, is called once everything runs, with the gateway's address.
	Ready func(httpAddr string)
}

// function is one template function as the stack runs it.
type function struct {
	tf   samtemplate.Function
	name string
	pkg  string
	bin  string
	env  []string
	rt   *runtimeapi.Function
}

// Run runs the stack until ctx ends, then drains: the gateway answers what it has
// accepted, triggers finish and commit their batch, sinks theirs, and the functions and
// the broker stop. It returns nil after a clean drain.
func Run(ctx context.Context, cfg Config) error {
	if cfg.LookupEnv == nil {
		cfg.LookupEnv = os.LookupEnv
	}
	if cfg.Out == nil {
		cfg.Out = os.Stderr
	}
	cfg.Template = cmp.Or(cfg.Template, DefaultTemplate)
	cfg.HTTP = cmp.Or(cfg.HTTP, DefaultHTTP)
	cfg.Kafka = cmp.Or(cfg.Kafka, DefaultKafka)
	cfg.Data = cmp.Or(cfg.Data, DefaultData)
	if len(cfg.SinkConfigs) == 0 {
		cfg.SinkConfigs = DefaultSinkConfigs
	}
	cfg.Partitions = cmp.Or(cfg.Partitions, DefaultPartitions)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, DefaultConcurrency)
	getenv := func(k string) string { v, _ := cfg.LookupEnv(k); return v }
	level := logLevel(getenv("LOG_LEVEL"))
	out := console.New(cfg.Out)
	logf := func(component string) func(string, ...any) {
		return func(format string, args ...any) { out.Logf(component, format, args...) }
	}
	infof := func(component string) func(string, ...any) {
		if level > slog.LevelInfo {
			return func(string, ...any) {}
		}
		return logf(component)
	}
	stackf := logf("stack")

	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(cfg.Dir, p)
	}
	dataDir := abs(cfg.Data)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}

	// The HTTP port is taken first, so that a second stack fails at once and clearly.
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("--http %s: %w (another stack running? pick another address with --http)", cfg.HTTP, err)
	}
	defer ln.Close()

	// Kafka: the user's (KAFKA_BROKERS) or the embedded broker.
	external := getenv("KAFKA_BROKERS") != ""
	kcfg, err := kafka.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	sinkCfgs := make([]sink.Config, 0, len(cfg.SinkConfigs))
	for _, p := range cfg.SinkConfigs {
		sc, err := sink.LoadConfig(abs(p))
		if err != nil {
			return fmt.Errorf("--sink-config: %w", err)
		}
		sinkCfgs = append(sinkCfgs, sc)
	}

	var brk *broker.Broker
	kafkaWhere := ""
	if external {
		kafkaWhere = strings.Join(kcfg.Brokers, ",") + " (KAFKA_BROKERS)"
	} else {
		kcfg.Auth, kcfg.TLS, kcfg.Username, kcfg.Password = kafka.AuthNone, false, "", ""
		brk, err = broker.Start(ctx, broker.Config{
			Addr:       cfg.Kafka,
			DataDir:    filepath.Join(dataDir, "kafka"),
			Partitions: cfg.Partitions,
			SyncWrites: cfg.Fsync,
			Logf:       logf("broker"),
		})
		if err != nil {
			return fmt.Errorf("--kafka: %w (a Kafka already there? use it with KAFKA_BROKERS=%s, or pick another --kafka)", err, cfg.Kafka)
		}
		defer func() {
			brk.Close()
			stackf("broker stopped; its data is kept in %s", filepath.Join(cfg.Data, "kafka"))
		}()
		kcfg.Brokers = brk.Addrs()
		kafkaWhere = strings.Join(kcfg.Brokers, ",") + "  (embedded, stands for MSK; data in " + filepath.Join(cfg.Data, "kafka") + ")"
	}
	if external {
		stackf("kafka: %s", kafkaWhere)
	} else {
		logf("broker")("listening on %s", kafkaWhere)
	}
	newClient := func(opts ...kgo.Opt) (*kgo.Client, error) { return kafka.NewClient(ctx, kcfg, opts...) }

	// The template, resolved for this machine.
	params := map[string]string{}
	for k, v := range cfg.Parameters {
		params[k] = v
	}
	// The Kafka connection is the stack's, whatever the parameters say.
	params["KafkaBootstrapServers"] = strings.Join(kcfg.Brokers, ",")
	params["KafkaAuth"] = kcfg.Auth
	params["KafkaTLS"] = strconv.FormatBool(kcfg.TLS)
	tmpl, err := samtemplate.Load(abs(cfg.Template), samtemplate.WithParameters(params),
		samtemplate.WithPseudo(map[string]string{"AWS::Region": region(getenv)}))
	if err != nil {
		return err
	}
	var fns []*function
	for _, tf := range tmpl.Functions {
		pkg, err := tf.Package(cfg.Dir)
		if err != nil {
			return err
		}
		fn := &function{tf: tf, name: tf.Name(cfg.Dir), pkg: pkg}
		fn.bin = filepath.Join(dataDir, "bin", fn.name, "bootstrap")
		fn.env = functionEnv(tf.Environment, cfg.LookupEnv, kcfg)
		fns = append(fns, fn)
	}
	if len(fns) == 0 {
		return fmt.Errorf("%s: no functions", cfg.Template)
	}

	// Topics: the pipeline's, every trigger's and sink's, and their dead-letter queues.
	topics := slices.Clone(broker.Topics)
	topics = append(topics, kcfg.Topics.Submitted, kcfg.Topics.Orders, kcfg.Topics.Rejected, kcfg.Topics.DLQ)
	for _, fn := range fns {
		for _, k := range []string{"ORDERS_SUBMITTED_TOPIC", "ORDERS_TOPIC", "ORDERS_REJECTED_TOPIC", "ORDERS_DLQ_TOPIC"} {
			if v := envValue(fn.env, k); v != "" {
				topics = append(topics, v)
			}
		}
		for _, t := range fn.tf.Triggers {
			topics = append(topics, t.Topics...)
		}
	}
	for _, sc := range sinkCfgs {
		topics = append(topics, sc.Topics...)
		if sc.DLQTopic != "" {
			topics = append(topics, sc.DLQTopic)
		}
	}
	slices.Sort(topics)
	topics = slices.Compact(slices.DeleteFunc(topics, func(s string) bool { return s == "" }))
	admin, err := newClient()
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = broker.EnsureTopics(tctx, admin, cfg.Partitions, topics...)
	cancel()
	admin.Close()
	if err != nil {
		return fmt.Errorf("kafka at %s: %w", kafkaWhere, err)
	}
	stackf("topics ready: %s", strings.Join(topics, ", "))

	// The database, migrated, so that an empty one works with no other step.
	store, err := db.Open(ctx, getenv("DATABASE_URL"), dataDir)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := db.Apply(ctx, store.SQL, store.Dialect); err != nil {
		return fmt.Errorf("migrate %s: %w", store.Where, err)
	}
	stackf("database ready (migrated): %s %s", store.Dialect, store.Where)

	// Function binaries for this machine (SAM builds linux/arm64 ones for AWS).
	if err := build(ctx, cfg.Dir, fns, logf("build")); err != nil {
		return err
	}
	for _, fn := range fns {
		fn.rt, err = runtimeapi.New(runtimeapi.Config{
			Name:        fn.tf.FunctionName,
			Path:        fn.bin,
			Dir:         cfg.Dir,
			Env:         fn.env,
			Timeout:     fn.tf.Timeout,
			MemorySize:  fn.tf.MemorySize,
			Concurrency: cfg.Concurrency,
			Region:      region(getenv),
			Output: func(int) io.Writer {
				return out.Writer(fn.name)
			},
			Logf: logf(fn.name),
		})
		if err != nil {
			return err
		}
	}
	closeFunctions := func() {
		var wg sync.WaitGroup
		for _, fn := range fns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := fn.rt.Close(cctx); err != nil {
					stackf("%s: stopped before its invocations finished: %v", fn.name, err)
				}
			}()
		}
		wg.Wait()
	}
	// One warm process each, so that a function that cannot start says so now.
	var startErr error
	var startMu sync.Mutex
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn.rt.Start(ctx); err != nil {
				startMu.Lock()
				startErr = errors.Join(startErr, err)
				startMu.Unlock()
			}
		}()
	}
	wg.Wait()
	if startErr != nil {
		closeFunctions()
		return startErr
	}

	// Sinks and triggers run until ctx ends; each finishes its batch in flight.
	var (
		runWG   sync.WaitGroup
		runErr  error
		runMu   sync.Mutex
		failed  = make(chan struct{})
		failOne sync.Once
	)
	fail := func(err error) {
		runMu.Lock()
		runErr = errors.Join(runErr, err)
		runMu.Unlock()
		failOne.Do(func() { close(failed) })
	}
	sinkCtx, stopSinks := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSinks()
	var sinkWG sync.WaitGroup
	sinkLog := slog.New(slog.NewTextHandler(out.Writer("sink"), &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	for _, sc := range sinkCfgs {
		cl, err := kafka.NewClient(ctx, kcfg, sink.ClientOpts(sc)...)
		if err != nil {
			closeFunctions()
			return fmt.Errorf("sink %s: %w", sc.Name, err)
		}
		s, err := sink.New(sc, store, cl)
		if err != nil {
			cl.Close()
			closeFunctions()
			return err
		}
		s.Logger = sinkLog
		if level > slog.LevelInfo {
			s.Progress = -1
		}
		sinkWG.Add(1)
		go func() {
			defer sinkWG.Done()
			if err := s.Run(sinkCtx); err != nil {
				fail(fmt.Errorf("sink %s: %w", sc.Name, err))
			}
		}()
	}

	trigCtx, stopTriggers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopTriggers()
	var triggerLines []string
	for _, fn := range fns {
		for _, t := range fn.tf.Triggers {
			if !t.Enabled {
				continue
			}
			tc := triggerConfig(fn, t, kcfg, region(getenv))
			tc.NewClient = newClient
			tc.Logf = logf(fn.name)
			tr, err := trigger.New(tc)
			if err != nil {
				closeFunctions()
				return err
			}
			triggerLines = append(triggerLines, fmt.Sprintf("%s event %s → %s  (group %s, batch %d, window %s)",
				t.Kind, strings.Join(t.Topics, ","), fn.name, tc.Group, tc.BatchSize, tc.Window))
			runWG.Add(1)
			go func() {
				defer runWG.Done()
				if err := tr.Run(trigCtx); err != nil {
					fail(fmt.Errorf("trigger %s: %w", tc.Name, err))
				}
			}()
		}
	}

	// The gateway, last: a request it accepts finds everything running.
	var routes []gateway.Route
	var routeLines []string
	for _, fn := range fns {
		for _, r := range fn.tf.Routes {
			routes = append(routes, gateway.Route{Method: r.Method, Path: r.Path, Name: fn.name, Function: fn.rt})
			routeLines = append(routeLines, fmt.Sprintf("%s → %s", r.Key(), fn.name))
		}
	}
	gw, err := gateway.New(routes, gateway.WithLogf(infof("gateway")),
		gateway.WithTimeoutError(func(err error) bool { return errors.Is(err, runtimeapi.ErrTimeout) }))
	if err != nil {
		closeFunctions()
		return err
	}
	srv := &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	banner(cfg.Out, bannerInfo{
		http: ln.Addr().String(), kafka: kafkaWhere, topics: topics, db: store.Dialect + " " + store.Where,
		fns: fns, routes: routeLines, triggers: triggerLines, sinks: sinkCfgs, concurrency: cfg.Concurrency,
		data: cfg.Data,
	})
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String())
	}

	select {
	case <-ctx.Done():
		stackf("shutting down: draining requests, batches and sinks")
	case <-failed:
		stackf("a component failed; shutting down")
	case err := <-served:
		fail(fmt.Errorf("gateway: %w", err))
	}
	// Reverse order: no new requests; answer those accepted; let triggers finish and
	// commit their batch (their functions still run); then the functions; then the sinks
	// finish theirs; the broker and the database close last (deferred).
	shctx, cancelSh := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelSh()
	if err := srv.Shutdown(shctx); err != nil {
		stackf("gateway shutdown: %v", err)
	}
	stopTriggers()
	runWG.Wait()
	closeFunctions()
	stopSinks()
	sinkWG.Wait()
	stackf("stopped")
	runMu.Lock()
	defer runMu.Unlock()
	return runErr
}

// functionEnv is a function's environment: the template's variables, each overridden by
// the same variable in this shell (as `sam local --env-vars` would), and the Kafka
// connection of this stack.
func functionEnv(tmpl map[string]string, lookup func(string) (string, bool), kcfg kafka.Config) []string {
	env := map[string]string{}
	for k, v := range tmpl {
		if sv, ok := lookup(k); ok {
			v = sv
		}
		env[k] = v
	}
	env["KAFKA_BROKERS"] = strings.Join(kcfg.Brokers, ",")
	env["KAFKA_AUTH"] = kcfg.Auth
	env["KAFKA_TLS"] = strconv.FormatBool(kcfg.TLS)
	if kcfg.Username != "" {
		env["KAFKA_USERNAME"], env["KAFKA_PASSWORD"] = kcfg.Username, kcfg.Password
	} else {
		delete(env, "KAFKA_USERNAME")
		delete(env, "KAFKA_PASSWORD")
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func triggerConfig(fn *function, t samtemplate.KafkaTrigger, kcfg kafka.Config, region string) trigger.Config {
	tc := trigger.Config{
		Name:             fn.name + "/" + t.Event,
		Brokers:          kcfg.Brokers,
		Topics:           t.Topics,
		Group:            t.ConsumerGroupID,
		BatchSize:        t.BatchSize,
		Window:           t.BatchingWindow,
		StartAtLatest:    t.StartingPosition == "LATEST",
		BootstrapServers: strings.Join(kcfg.Brokers, ","),
		Function:         fn.rt,
	}
	if tc.Group == "" {
		// Lambda names the group after the event source mapping's UUID; locally the
		// function and event name it, stable across restarts.
		tc.Group = "ordersync-local-" + fn.tf.LogicalID + "-" + t.Event
	}
	tc.InstanceID = tc.Group + "-local"
	switch t.Kind {
	case samtemplate.SelfManagedKafka:
		tc.EventSource = trigger.SourceSelfManagedKafka
	default:
		tc.EventSource = trigger.SourceMSK
		tc.EventSourceARN = t.Stream
		if tc.EventSourceARN == "" {
			tc.EventSourceARN = "arn:aws:kafka:" + region + ":123456789012:cluster/ordersync-local/00000000-0000-0000-0000-000000000000-1"
		}
	}
	return tc
}

// build compiles every function's bootstrap for this machine, in parallel.
func build(ctx context.Context, dir string, fns []*function, logf func(string, ...any)) error {
	start := time.Now()
	pkgs := make([]string, 0, len(fns))
	for _, fn := range fns {
		pkgs = append(pkgs, "./"+fn.pkg)
	}
	logf("go build %s (the first build takes a minute)", strings.Join(pkgs, " "))
	var wg sync.WaitGroup
	errs := make([]error, len(fns))
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", fn.bin, "./"+strings.TrimPrefix(fn.pkg, "./"))
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("build %s (./%s): %w\n%s", fn.name, fn.pkg, err, b)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	names := make([]string, 0, len(fns))
	for _, fn := range fns {
		names = append(names, fn.name)
	}
	logf("built %s in %s", strings.Join(names, ", "), time.Since(start).Round(time.Millisecond))
	return nil
}

func region(getenv func(string) string) string {
	return cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1")
}

func logLevel(s string) slog.Level {
	var l slog.Level
	if l.UnmarshalText([]byte(s)) != nil {
		return slog.LevelInfo
	}
	return l
}

type bannerInfo struct {
	http, kafka, db, data string
	topics                []string
	fns                   []*function
	routes, triggers      []string
	sinks                 []sink.Config
	concurrency           int
}

func banner(w io.Writer, b bannerInfo) {
	var sb strings.Builder
	line := func(what, format string, args ...any) {
		fmt.Fprintf(&sb, "  %-13s %s\n", what, fmt.Sprintf(format, args...))
	}
	width := 0
	for _, fn := range b.fns {
		width = max(width, len(fn.name))
	}
	sb.WriteString("\nordersync local stack — the AWS pipeline on this machine\n\n")
	line("API Gateway", "http://%s", b.http)
	for _, r := range b.routes {
		line("", "%s", r)
	}
	for _, fn := range b.fns {
		line("Lambda", "%-*s  %s  (%s; up to %d processes, timeout %s, %d MB)",
			width, fn.name, relBin(b.data, fn), fn.tf.LogicalID, b.concurrency, fn.tf.Timeout, fn.tf.MemorySize)
	}
	for _, t := range b.triggers {
		line("trigger", "%s", t)
	}
	line("Kafka", "%s", b.kafka)
	line("", "topics %s", strings.Join(b.topics, ", "))
	for _, s := range b.sinks {
		tables := make([]string, 0, len(s.Topics))
		for _, t := range s.Topics {
			tables = append(tables, t+" → table "+s.Table(t))
		}
		line("JDBC sink", "%s  (%s)", strings.Join(tables, ", "), s.Name)
	}
	line("database", "%s", b.db)
	sb.WriteString("\nTry it:\n\n")
	fmt.Fprintf(&sb, "  curl -i -X POST http://%s/order-service/u-1/orders -H 'Content-Type: application/json' -d '{\"productId\":\"CATALOG-0001\",\"qty\":5,\"unitPrice\":1200}'\n", b.http)
	sb.WriteString("\nCtrl-C stops it; in-flight work is finished first and nothing is lost.\n\n")
	io.WriteString(w, sb.String())
}

func relBin(data string, fn *function) string {
	return filepath.Join(data, "bin", fn.name, "bootstrap")
}
