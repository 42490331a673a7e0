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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kslog"

	"github.com/ordersync/ordersync/local/broker"
	"github.com/ordersync/ordersync/local/console"
	"github.com/ordersync/ordersync/local/gateway"
	"github.com/ordersync/ordersync/local/runtimeapi"
	"github.com/ordersync/ordersync/local/samtemplate"
	"github.com/ordersync/ordersync/local/stats"
	"github.com/ordersync/ordersync/local/trigger"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/metrics"
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
	// KAFKA_* variables, DATABASE_URL, LOG_LEVEL, and overrides of the template's
	// variables.
	LookupEnv func(string) (string, bool)
	Out       io.Writer      // the log stream
	LogFormat console.Format // text (the default) or JSON lines
	// Ready, if set, is called once everything runs, with the gateway's address.
	Ready func(httpAddr string)
}

// Run runs the stack until ctx ends, then drains: the gateway answers what it has
// accepted, triggers finish and commit their batch, sinks theirs, and the functions and
// the broker stop. It returns nil after a clean drain.
//
// While it runs, slog's default logger (where franz-go clients built by shared/kafka
// log) writes to the stack's stream as component "kafka-client".
func Run(ctx context.Context, cfg Config) error {
	r, err := newRun(cfg)
	if err != nil {
		return err
	}
	prev := slog.Default()
	slog.SetDefault(r.out.LoggerAt("kafka-client", slog.LevelWarn))
	defer slog.SetDefault(prev)
	defer r.shutdown()
	for _, step := range []func(context.Context) error{
		r.lockData,
		r.listen,
		r.startKafka,
		r.readTemplate,
		r.ensureTopics,
		r.openDatabase,
		r.startFunctions,
		r.startSinks,
		r.startTriggers,
		r.serve,
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	r.wait(ctx)
	return r.drain()
}

// run is one run of the stack: what each step made, for the steps after it and for
// shutdown.
type run struct {
	cfg     Config
	getenv  func(string) string
	out     *console.Stream
	log     *slog.Logger // component "stack"
	dataDir string       // --data, resolved against Dir
	unlock  func()

	ln         net.Listener
	kcfg       kafka.Config
	kafkaWhere string
	brk        *broker.Broker
	sinkCfgs   []sink.Config
	fns        []*function
	topics     []string
	store      *db.DB

	sinkWG, trigWG           sync.WaitGroup
	stopSinks, stopTriggers  context.CancelFunc
	triggerLines, routeLines []string
	srv                      *http.Server
	stats                    *stats.Collector
	onFailureClients         []*kgo.Client // the triggers' kafka:// destinations
	served                   chan error
	failed                   chan struct{}
	failOnce                 sync.Once
	errMu                    sync.Mutex
	runErr                   error
	shutDown                 bool
}

// newRun applies the defaults and reads LOG_LEVEL.
func newRun(cfg Config) (*run, error) {
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
	r := &run{cfg: cfg, failed: make(chan struct{}), served: make(chan error, 1)}
	r.getenv = func(k string) string { v, _ := cfg.LookupEnv(k); return v }
	level, err := logging.Level(r.getenv("LOG_LEVEL"))
	if err != nil {
		return nil, err
	}
	r.stats = &stats.Collector{}
	r.out = console.New(cfg.Out, console.WithFormat(cfg.LogFormat), console.WithLevel(level), console.WithEMF(r.stats.Add))
	r.log = r.out.Logger("stack")
	r.dataDir = r.abs(cfg.Data)
	return r, nil
}

// abs resolves p against the project root.
func (r *run) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.cfg.Dir, p)
}

// lockData takes the data directory, so that a second stack on it stops here.
func (r *run) lockData(context.Context) error {
	if err := os.MkdirAll(r.dataDir, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	unlock, err := Lock(r.dataDir)
	if err != nil {
		return err
	}
	r.unlock = unlock
	return nil
}

// listen takes the HTTP port early, so that a port in use fails at once and clearly.
func (r *run) listen(context.Context) error {
	ln, err := net.Listen("tcp", r.cfg.HTTP)
	if err != nil {
		return fmt.Errorf("--http %s: %w (another stack running? pick another address with --http)", r.cfg.HTTP, err)
	}
	r.ln = ln
	return nil
}

// startKafka reads the KAFKA_* variables and the connector files, and starts the
// embedded broker unless KAFKA_BROKERS names the user's Kafka.
func (r *run) startKafka(ctx context.Context) error {
	kcfg, err := kafka.ConfigFromEnv(r.getenv)
	if err != nil {
		return err
	}
	for _, p := range r.cfg.SinkConfigs {
		sc, err := sink.LoadConfig(r.abs(p))
		if err != nil {
			return fmt.Errorf("--sink-config: %w", err)
		}
		r.sinkCfgs = append(r.sinkCfgs, sc)
	}
	if r.getenv("KAFKA_BROKERS") != "" {
		r.kcfg = kcfg
		r.kafkaWhere = strings.Join(kcfg.Brokers, ",") + " (KAFKA_BROKERS)"
		r.log.Info("kafka: " + r.kafkaWhere)
		return nil
	}
	kcfg.Auth, kcfg.TLS, kcfg.Username, kcfg.Password = kafka.AuthNone, false, "", ""
	brk, err := broker.Start(ctx, broker.Config{
		Addr:       r.cfg.Kafka,
		DataDir:    filepath.Join(r.dataDir, "kafka"),
		Partitions: r.cfg.Partitions,
		SyncWrites: r.cfg.Fsync,
		Log:        r.out.Logger("broker"),
	})
	if err != nil {
		return fmt.Errorf("--kafka: %w (a Kafka already there? use it with KAFKA_BROKERS=%s, or pick another --kafka)", err, r.cfg.Kafka)
	}
	r.brk = brk
	kcfg.Brokers = brk.Addrs()
	r.kcfg = kcfg
	r.kafkaWhere = strings.Join(kcfg.Brokers, ",") + "  (embedded, stands for MSK; data in " + filepath.Join(r.cfg.Data, "kafka") + ")"
	r.out.Logf("broker", "listening on %s", r.kafkaWhere)
	return nil
}

// newClient is a Kafka client of the stack's connection; franz-go's warnings go to
// the stream.
func (r *run) newClient(ctx context.Context, opts ...kgo.Opt) (*kgo.Client, error) {
	return kafka.NewClient(ctx, r.kcfg, append([]kgo.Opt{r.clientLogger()}, opts...)...)
}

// clientLogger sends franz-go's warnings to the stream.
func (r *run) clientLogger() kgo.Opt {
	return kgo.WithLogger(kslog.New(r.out.LoggerAt("kafka-client", slog.LevelWarn)))
}

// readTemplate resolves template.yaml for this machine: its functions, with their
// packages, binaries and environment.
func (r *run) readTemplate(context.Context) error {
	params := map[string]string{}
	for k, v := range r.cfg.Parameters {
		params[k] = v
	}
	// The Kafka connection is the stack's, whatever the parameters say.
	params["KafkaBootstrapServers"] = strings.Join(r.kcfg.Brokers, ",")
	params["KafkaAuth"] = r.kcfg.Auth
	params["KafkaTLS"] = strconv.FormatBool(r.kcfg.TLS)
	tmpl, err := samtemplate.Load(r.abs(r.cfg.Template), samtemplate.WithParameters(params),
		samtemplate.WithPseudo(map[string]string{"AWS::Region": region(r.getenv)}))
	if err != nil {
		return err
	}
	for _, tf := range tmpl.Functions {
		fn, err := r.function(tf)
		if err != nil {
			return err
		}
		r.fns = append(r.fns, fn)
	}
	if len(r.fns) == 0 {
		return fmt.Errorf("%s: no functions", r.cfg.Template)
	}
	return nil
}

// ensureTopics creates the pipeline's topics, every trigger's and sink's, and their
// dead-letter queues, where they are missing.
func (r *run) ensureTopics(ctx context.Context) error {
	var extra []string
	for _, fn := range r.fns {
		for _, k := range []string{"ORDERS_SUBMITTED_TOPIC", "ORDERS_TOPIC", "ORDERS_REJECTED_TOPIC", "ORDERS_DLQ_TOPIC"} {
			extra = append(extra, envValue(fn.env, k))
		}
		for _, t := range fn.tf.Triggers {
			extra = append(extra, t.Topics...)
		}
	}
	for _, sc := range r.sinkCfgs {
		extra = append(extra, sc.Topics...)
		extra = append(extra, sc.DLQTopic)
	}
	extra = append(extra, r.onFailureTopics()...)
	r.topics = broker.Topics(r.kcfg.Topics, extra...)
	admin, err := r.newClient(ctx)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = broker.EnsureTopics(tctx, admin, r.cfg.Partitions, r.topics...)
	cancel()
	admin.Close()
	if err != nil {
		return fmt.Errorf("kafka at %s: %w", r.kafkaWhere, err)
	}
	r.log.Info("topics ready: " + strings.Join(r.topics, ", "))
	return nil
}

// openDatabase opens DATABASE_URL or the SQLite file, migrated, so that an empty one
// works with no other step.
func (r *run) openDatabase(ctx context.Context) error {
	store, err := db.Open(ctx, r.getenv("DATABASE_URL"), r.dataDir)
	if err != nil {
		return err
	}
	r.store = store
	if err := db.Apply(ctx, store.SQL, store.Dialect); err != nil {
		return fmt.Errorf("migrate %s: %w", store.Where, err)
	}
	r.log.Info(fmt.Sprintf("database ready (migrated): %s %s", store.Dialect, store.Where))
	return nil
}

// startFunctions builds the function binaries for this machine (SAM builds linux/arm64
// ones for AWS) and starts one warm process each, so that a function that cannot start
// says so now.
func (r *run) startFunctions(ctx context.Context) error {
	if err := build(ctx, r.cfg.Dir, r.fns, r.out.Logger("build")); err != nil {
		return err
	}
	for _, fn := range r.fns {
		rt, err := runtimeapi.New(runtimeapi.Config{
			Name:        fn.tf.FunctionName,
			Path:        fn.bin,
			Dir:         r.cfg.Dir,
			Env:         fn.env,
			Timeout:     fn.tf.Timeout,
			MemorySize:  fn.tf.MemorySize,
			Concurrency: r.cfg.Concurrency,
			Region:      region(r.getenv),
			Output:      func(int) io.Writer { return r.out.Writer(fn.name) },
			Logf:        func(format string, args ...any) { r.out.Logf(fn.name, format, args...) },
		})
		if err != nil {
			return err
		}
		fn.rt = rt
	}
	errs := make([]error, len(r.fns))
	var wg sync.WaitGroup
	for i, fn := range r.fns {
		wg.Go(func() { errs[i] = fn.rt.Start(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startSinks runs one sink per connector file until drain; each finishes its batch in
// flight.
func (r *run) startSinks(ctx context.Context) error {
	sinkCtx, stopSinks := context.WithCancel(context.WithoutCancel(ctx))
	r.stopSinks = stopSinks
	store, sinkLog := r.store, r.out.Logger("sink")
	for _, sc := range r.sinkCfgs {
		s, err := sink.Open(ctx, sc, store, r.kcfg, r.clientLogger())
		if err != nil {
			return err
		}
		s.Logger = sinkLog
		// Its metric documents go through the console to the live counters (/_stats).
		s.Metrics = metrics.New(metrics.DefaultNamespace, "sink", r.out.Writer("sink"))
		if !r.out.Enabled(slog.LevelInfo) {
			s.Progress = -1
		}
		r.sinkWG.Go(func() {
			if err := s.Run(sinkCtx); err != nil {
				r.fail(fmt.Errorf("sink %s: %w", sc.Name, err))
			}
		})
	}
	return nil
}

// startTriggers runs each enabled Kafka event of the template until drain; each
// finishes and commits its batch in flight.
func (r *run) startTriggers(ctx context.Context) error {
	trigCtx, stopTriggers := context.WithCancel(context.WithoutCancel(ctx))
	r.stopTriggers = stopTriggers
	for _, fn := range r.fns {
		for _, t := range fn.tf.Triggers {
			if !t.Enabled {
				continue
			}
			tc := triggerConfig(fn, t, r.kcfg, region(r.getenv))
			tc.NewClient = func(opts ...kgo.Opt) (*kgo.Client, error) { return r.newClient(ctx, opts...) }
			tc.Logf = func(format string, args ...any) { r.out.Warnf(fn.name, format, args...) }
			if err := r.onFailure(ctx, &tc, t.Errors.OnFailure); err != nil {
				return err
			}
			tr, err := trigger.New(tc)
			if err != nil {
				return err
			}
			r.triggerLines = append(r.triggerLines, fmt.Sprintf("%s event %s → %s  (group %s, batch %d, window %s)",
				t.Kind, strings.Join(t.Topics, ","), fn.name, tc.Group, tc.BatchSize, tc.Window))
			r.trigWG.Go(func() {
				if err := tr.Run(trigCtx); err != nil {
					r.fail(fmt.Errorf("trigger %s: %w", tc.Name, err))
				}
			})
		}
	}
	return nil
}

// serve starts the gateway, last: a request it accepts finds everything running.
func (r *run) serve(context.Context) error {
	var routes []gateway.Route
	for _, fn := range r.fns {
		for _, rt := range fn.tf.Routes {
			routes = append(routes, gateway.Route{Method: rt.Method, Path: rt.Path, Name: fn.name, Function: fn.rt})
			r.routeLines = append(r.routeLines, fmt.Sprintf("%s → %s", rt.Key(), fn.name))
		}
	}
	gw, err := gateway.New(routes,
		gateway.WithLogf(func(format string, args ...any) { r.out.Logf("gateway", format, args...) }),
		gateway.WithTimeoutError(func(err error) bool { return errors.Is(err, runtimeapi.ErrTimeout) }))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", gw)
	mux.Handle("/_stats", r.stats) // the functions' and the sinks' metrics, summed
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { r.served <- r.srv.Serve(r.ln) }()
	r.banner()
	if r.cfg.Ready != nil {
		r.cfg.Ready(r.ln.Addr().String())
	}
	return nil
}

// wait returns when ctx ends, a component fails or the gateway stops serving.
func (r *run) wait(ctx context.Context) {
	select {
	case <-ctx.Done():
		r.log.Info("shutting down: draining requests, batches and sinks")
	case <-r.failed:
		r.log.Error("a component failed; shutting down")
	case err := <-r.served:
		r.fail(fmt.Errorf("gateway: %w", err))
	}
}

// fail records a component's error and starts the shutdown.
func (r *run) fail(err error) {
	r.errMu.Lock()
	r.runErr = errors.Join(r.runErr, err)
	r.errMu.Unlock()
	r.failOnce.Do(func() { close(r.failed) })
}

// drain stops everything and returns what failed while running.
func (r *run) drain() error {
	r.shutdown()
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.runErr
}

// shutdown stops what was started, in reverse: no new requests; answer those
// accepted; let triggers finish and commit their batch (their functions still run); then
// the functions; then the sinks finish theirs; the database and the broker close last.
// It does only what its step got to, and only once.
func (r *run) shutdown() {
	if r.shutDown {
		return
	}
	r.shutDown = true
	if r.srv != nil {
		shctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if err := r.srv.Shutdown(shctx); err != nil {
			r.log.Warn(fmt.Sprintf("gateway shutdown: %v", err))
		}
		cancel()
	}
	if r.stopTriggers != nil {
		r.stopTriggers()
		r.trigWG.Wait()
		for _, cl := range r.onFailureClients {
			cl.Close()
		}
	}
	r.closeFunctions()
	if r.stopSinks != nil {
		r.stopSinks()
		r.sinkWG.Wait()
	}
	if r.srv != nil {
		r.log.Info("stopped")
	}
	if r.store != nil {
		r.store.Close()
	}
	if r.brk != nil {
		r.brk.Close()
		r.log.Info("broker stopped; its data is kept in " + filepath.Join(r.cfg.Data, "kafka"))
	}
	if r.ln != nil {
		r.ln.Close()
	}
	if r.unlock != nil {
		r.unlock()
	}
}

// closeFunctions stops every function's processes, letting invocations finish.
func (r *run) closeFunctions() {
	var wg sync.WaitGroup
	for _, fn := range r.fns {
		if fn.rt == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := fn.rt.Close(cctx); err != nil {
				r.log.Warn(fmt.Sprintf("%s: stopped before its invocations finished: %v", fn.name, err))
			}
		}()
	}
	wg.Wait()
}

// functionEnv is a function's environment: the template's variables, each overridden by
