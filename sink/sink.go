// Package sink provides a self-hosted Kafka Connect JDBC sink: it reads a JdbcSinkConnector
// config (connect/orders-sink.json) and applies it with the connector's semantics to
// MariaDB / MySQL or to an embedded SQLite file.
//
// What it mirrors from Kafka Connect and kafka-connect-jdbc 10.x: the consumer group
// connect-<name>; JsonConverter envelopes; insert.mode, pk.mode and pk.fields,
// fields.whitelist, table.name.format, auto.create and auto.evolve with the MySQL type
// mapping; batches written in one transaction and retried whole max.retries times;
// offsets committed only after the database commit; errors.tolerance, the dead letter
// queue with its __connect.errors.* headers, and which failures stop the task instead.
//
// Where it differs on purpose: values are decoded strictly (JsonConverter turns a
// wrong-typed value into 0, false or null; here the record is reported as a converter
// error and dead-lettered), one put is at most batch.size records, and connection.url
// and its credentials are ignored in favour of the database given to New.
package sink

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/ordersync/ordersync/shared/db"
	_ "modernc.org/sqlite" // the embedded SQLite file, pure Go

	"github.com/go-sql-driver/mysql"
	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Errors a Sink returns (wrapped with the details). ErrRecord, ErrTable and ErrWrite
// are the kinds of failure the connector tells apart; Run stops with ErrTolerance when a
// failure may not be skipped.
var (
	ErrConverter = errors.New("converter failed")                    // DataException in a converter: framework handles it (DLQ)
	ErrRecord    = errors.New("record cannot be written")            // ConnectException from put: the task fails whatever errors.tolerance
	ErrTable     = errors.New("table cannot be created or altered")  // TableAlterOrCreateException: no retry, unrolled to the DLQ
	ErrWrite     = errors.New("write failed")                        // SQLException: retried, then unrolled to the DLQ
	ErrTolerance = errors.New("tolerance exceeded in error handler") // errors.tolerance=none, or nothing to report to
	ErrDLQ       = errors.New("dead letter queue write failed")      // producing to errors.deadletterqueue.topic.name failed
	ErrDatabase  = errors.New("database unreachable")                // connection lost during a put: the task fails
)

// Names the DLQ context headers carry, as Kafka Connect writes them.
const (
	connectorTaskClass = "io.confluent.connect.jdbc.sink.JdbcSinkTask"
	converterClass     = "org.apache.kafka.connect.json.JsonConverter"
	dataException      = "org.apache.kafka.connect.errors.DataException"
	sqlException       = "java.sql.SQLException"
	tableException     = "io.confluent.connect.jdbc.sink.TableAlterOrCreateException"
)

// Stats counts what a Sink has done.
type Stats struct {
	Records      int64 // records consumed and handled (written, deleted or reported)
	Rows         int64 // rows written or deleted
	DeadLettered int64 // records written to the DLQ
	Batches      int64 // committed puts
	Retries      int64 // whole-batch retries after a write error
}

// Sink applies one connector config. Create it with New, then call Run once.
type Sink struct {
	cfg   Config
	store *db.DB
	cl    *kgo.Client
	w     sqlWriter

	// Logger receives the sink's logs (nil: slog.Default()). Set before Run.
	Logger *slog.Logger
	// Progress is how often Run logs records/s and lag (0: every 5s, <0: never).
	Progress time.Duration

	layouts  map[string]*layout
	texts    map[textKey]string
	tables   map[tableID]map[string]string // table → lower-case column name → name
	stmts    map[string]*sql.Stmt          // prepared in the current transaction
	args     []any
	dlqReady bool

	stats      struct{ records, rows, dead, batches, retries atomic.Int64 }
	lag        atomic.Int64
	watermarks map[topicPartition]int64
	positions  map[topicPartition]int64

	// afterDBCommit, when set, runs after a put's database commit and before its offset
	// commit; an error stops Run at once without committing offsets (a crash there).
	afterDBCommit func() error
}

type topicPartition struct {
	topic     string
	partition int32
}

// maxParams bounds the placeholders of one multi-row statement (SQLite allows 32766,
// MySQL 65535).
var maxParams = map[string]int{db.MySQL: 65535, db.SQLite: 32766}

// New creates a sink for cfg writing to db. kgoOpts configure the Kafka client; they
// must include kgo.SeedBrokers. The client consumes in group connect-<name> with manual
// commits and also produces to the dead letter queue.
func New(cfg Config, store *db.DB, kgoOpts ...kgo.Opt) (*Sink, error) {
	cl, err := kgo.NewClient(append(ClientOpts(cfg), kgoOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("sink %s: kafka client: %w", cfg.Name, err)
	}
	s, err := NewWithClient(cfg, store, cl)
	if err != nil {
		cl.Close()
		return nil, err
	}
	return s, nil
}

// ClientOpts are the consumer options a sink's Kafka client needs: group
// connect-<name>, the configured topics from the earliest offset, manual commits, no
// rebalance while a batch is in flight. Use them with NewWithClient when the client is
// built elsewhere (SASL, TLS).
func ClientOpts(cfg Config) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.ConsumerGroup(cfg.Group),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), // Connect's auto.offset.reset=earliest
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ClientID("connector-consumer-" + cfg.Name + "-0"),
	}
	if cfg.TopicsRegex != "" {
		return append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(cfg.TopicsRegex))
	}
	return append(opts, kgo.ConsumeTopics(cfg.Topics...))
}

// NewWithClient creates a sink on a client made with ClientOpts(cfg). The sink owns the
// client and closes it when Run returns.
func NewWithClient(cfg Config, store *db.DB, cl *kgo.Client) (*Sink, error) {
	if store == nil || store.SQL == nil {
		return nil, fmt.Errorf("sink %s: no database", cfg.Name)
	}
	return &Sink{
		cfg:        cfg,
		store:      store,
		cl:         cl,
		w:          sqlWriter{dialect: store.Dialect, quote: cfg.QuoteIdentifiers},
		layouts:    map[string]*layout{},
		texts:      map[textKey]string{},
		tables:     map[tableID]map[string]string{},
		stmts:      map[string]*sql.Stmt{},
		watermarks: map[topicPartition]int64{},
		positions:  map[topicPartition]int64{},
	}, nil
}

// Config returns the connector config the sink applies.
func (s *Sink) Config() Config { return s.cfg }

// Stats returns the counters so far.
func (s *Sink) Stats() Stats {
	return Stats{
		Records:      s.stats.records.Load(),
		Rows:         s.stats.rows.Load(),
		DeadLettered: s.stats.dead.Load(),
		Batches:      s.stats.batches.Load(),
		Retries:      s.stats.retries.Load(),
	}
}

// Lag returns the records behind the high watermarks at the last poll.
func (s *Sink) Lag() int64 { return s.lag.Load() }

func (s *Sink) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Run consumes until ctx is done or a failure the connector would not survive. On
// cancellation it finishes the batch in flight, commits it, and returns nil. The
// Kafka client is closed when Run returns.
func (s *Sink) Run(ctx context.Context) error {
	defer s.close()
	log := s.log().With(slog.String("connector", s.cfg.Name))
	log.Info("sink started", slog.String("group", s.cfg.Group), slog.String("topics", s.topicsString()),
		slog.String("database", s.store.Dialect+" "+s.store.Where))
	stopProgress := s.progress(ctx, log)
	defer stopProgress()

	poll := s.cfg.BatchSize
	if v, ok := s.cfg.Raw["consumer.override.max.poll.records"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			poll = n
		}
	}
	// The next batch is polled and decoded while the current one is written: the
	// database works while this process decodes. Offsets are still committed batch by
	// batch, each after its own database commit.
	pollCtx, stopPolling := context.WithCancel(ctx)
	batches := make(chan polled, 1)
	go s.poll(pollCtx, poll, batches)
	defer func() {
		stopPolling()
		for range batches { // a batch polled but not written is simply not committed
		}
	}()
	for b := range batches {
		for tp, hw := range b.watermarks {
			s.watermarks[tp] = hw
		}
		if len(b.krs) > 0 {
			// The batch in flight finishes even when ctx is cancelled meanwhile.
			if err := s.put(context.WithoutCancel(ctx), ctx, b.krs, b.converted); err != nil {
				log.Error("sink stopped", slog.String("error", err.Error()))
				return err
			}
		}
		s.updateLag()
		s.cl.AllowRebalance()
		if b.err != nil {
			log.Error("sink stopped", slog.String("error", b.err.Error()))
			return b.err
		}
		if ctx.Err() != nil {
			break
		}
	}
	log.Info("sink stopped", slog.Int64("records", s.stats.records.Load()))
	return nil
}

// A polled batch: records, their conversions, the partitions' high watermarks, and a
// fetch error that ends the sink.
type polled struct {
	krs        []*kgo.Record
	converted  []converted
	watermarks map[topicPartition]int64
	err        error
}

// poll fetches and converts batches until ctx ends or a fetch fails, and closes out.
func (s *Sink) poll(ctx context.Context, max int, out chan<- polled) {
	defer close(out)
	for {
		fetches := s.cl.PollRecords(ctx, max)
		var b polled
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrClientClosed) {
				return
			}
			if b.err == nil {
				b.err = fmt.Errorf("sink %s: fetch %s[%d]: %w", s.cfg.Name, topic, p, err)
			}
		})
		b.krs = fetches.Records()
		b.watermarks = map[topicPartition]int64{}
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if p.HighWatermark >= 0 {
				b.watermarks[topicPartition{p.Topic, p.Partition}] = p.HighWatermark
			}
		})
		if len(b.krs) > 0 {
			b.converted = s.convertAll(b.krs)
		}
		if len(b.krs) > 0 || b.err != nil {
			select {
			case out <- b:
			case <-ctx.Done():
				return
			}
		}
		if b.err != nil || ctx.Err() != nil {
			return
		}
	}
}

func (s *Sink) topicsString() string {
	if s.cfg.TopicsRegex != "" {
		return "/" + s.cfg.TopicsRegex + "/"
	}
	return strings.Join(s.cfg.Topics, ",")
}

// close leaves the group; a rebalance blocked by the poll would hold Close up.
func (s *Sink) close() {
	s.cl.AllowRebalance()
	s.cl.Close()
}

func (s *Sink) updateLag() {
	var lag int64
	for tp, hw := range s.watermarks {
		pos, ok := s.positions[tp]
		if !ok {
			continue // nothing consumed from it yet: its start is unknown
		}
		if d := hw - pos; d > 0 {
			lag += d
		}
	}
	s.lag.Store(lag)
}

// progress logs records/s and lag every Progress while there is something to say.
func (s *Sink) progress(ctx context.Context, log *slog.Logger) func() {
	every := s.Progress
	if every == 0 {
		every = 5 * time.Second
	}
	if every < 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		last, lastAt := s.stats.records.Load(), time.Now()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				n := s.stats.records.Load()
				lag := s.lag.Load()
				if n == last && lag == 0 {
					lastAt = now
					continue
				}
				rate := float64(n-last) / now.Sub(lastAt).Seconds()
				log.Info("sink progress", slog.Int64("records_per_s", int64(rate)), slog.Int64("lag", lag),
					slog.Int64("records", n), slog.Int64("dead_lettered", s.stats.dead.Load()))
				last, lastAt = n, now
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// A failure is a record the connector reports to the errant record reporter.
type failure struct {
	kr        *kgo.Record
	stage     string // KEY_CONVERTER, VALUE_CONVERTER, TASK_PUT
	class     string // executing class
	exception string // exception class
	err       error
}

// put is WorkerSinkTask.deliverMessages + JdbcSinkTask.put for one converted batch:
// report converter failures, write in one transaction with whole-batch retries, unroll to the DLQ when allowed,
// produce the DLQ records, then commit offsets. work never ends early; stop is the
// caller's context, checked only between retries.
func (s *Sink) put(work, stop context.Context, krs []*kgo.Record, converted []converted) error {
	log := s.log().With(slog.String("connector", s.cfg.Name))
	var (
		recs    = make([]*record, 0, len(krs))
		reports []failure
	)
	for i := range krs {
		r, f, err := converted[i].r, converted[i].f, converted[i].err
		if err != nil {
			return err
		}
		if f != nil {
			reports = append(reports, *f)
			if err := s.report(work, log, reports); err != nil {
				return err
			}
			reports = reports[:0]
			continue
		}
		recs = append(recs, r)
	}

	remaining := s.cfg.MaxRetries
	for len(recs) > 0 {
		rows, err := s.write(work, recs)
		if err == nil {
			s.stats.rows.Add(rows)
			break
		}
		if errors.Is(err, ErrRecord) || errors.Is(err, ErrDatabase) {
			return fmt.Errorf("sink %s: %w: %w", s.cfg.Name, ErrTolerance, err)
		}
		if errors.Is(err, ErrWrite) && remaining > 0 {
			remaining--
			s.stats.retries.Add(1)
			log.Warn("write failed, retrying the batch", slog.Int("remaining_retries", remaining),
				slog.Duration("backoff", s.cfg.RetryBackoff), slog.String("error", err.Error()))
			s.reset()
			select {
			case <-time.After(s.cfg.RetryBackoff):
			case <-stop.Done():
				return nil // not committed: the batch is delivered again after a restart
			}
			continue
		}
		if connectionLost(err) {
			// Out of retries because the database is away: no record is at fault, so none
			// is unrolled to the DLQ; the batch stays uncommitted for a restarted sink.
			return fmt.Errorf("sink %s: %w: %w", s.cfg.Name, ErrDatabase, err)
		}
		if !s.cfg.reporter() {
			return fmt.Errorf("sink %s: %w (set errors.deadletterqueue.topic.name or errors.log.enable to report failing records): %w", s.cfg.Name, ErrTolerance, err)
		}
		// Unroll: every record alone, in its own transaction; report the ones that fail.
		s.reset()
		for _, r := range recs {
			rows, err := s.write(work, []*record{r})
			if err == nil {
				s.stats.rows.Add(rows)
				continue
			}
			if errors.Is(err, ErrRecord) || errors.Is(err, ErrDatabase) {
				return fmt.Errorf("sink %s: %w: %w", s.cfg.Name, ErrTolerance, err)
			}
			if connectionLost(err) {
				// The connection broke under this record, not the record: a ping after the
				// failure may already find the database back, so decide on the error itself.
				return fmt.Errorf("sink %s: %w: %w", s.cfg.Name, ErrDatabase, err)
			}
			exc := sqlException
			if errors.Is(err, ErrTable) {
				exc = tableException
			}
			if perr := s.store.SQL.PingContext(work); perr != nil {
				return fmt.Errorf("sink %s: %w: %w", s.cfg.Name, ErrDatabase, perr)
			}
			reports = append(reports, failure{kr: r.kr, stage: "TASK_PUT", class: connectorTaskClass, exception: exc, err: err})
		}
		if err := s.report(work, log, reports); err != nil {
			return err
		}
		break
	}

	if s.afterDBCommit != nil {
		if err := s.afterDBCommit(); err != nil {
			return err
		}
	}
	if err := s.cl.CommitRecords(work, krs...); err != nil {
		return fmt.Errorf("sink %s: commit offsets: %w", s.cfg.Name, err)
	}
	for _, kr := range krs {
		s.positions[topicPartition{kr.Topic, kr.Partition}] = kr.Offset + 1
	}
	s.stats.records.Add(int64(len(krs)))
	s.stats.batches.Add(1)
	return nil
}

// connectionLost tells whether err is the connection to the database failing rather than
// the database refusing a statement: such an error says nothing about the records.
func connectionLost(err error) bool {
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &netErr)
}

// report hands failed records to the errant record reporter: the DLQ (when configured)
// and the log (errors.log.enable). With errors.tolerance=none the first one then stops
// the sink, as RetryWithToleranceOperator does.
func (s *Sink) report(ctx context.Context, log *slog.Logger, fs []failure) error {
	if len(fs) == 0 {
		return nil
	}
	if s.cfg.DLQTopic != "" {
		if err := s.ensureDLQ(ctx); err != nil {
			return err
		}
		out := make([]*kgo.Record, 0, len(fs))
		for _, f := range fs {
			out = append(out, s.dlqRecord(f))
		}
		if err := s.cl.ProduceSync(ctx, out...).FirstErr(); err != nil {
			return fmt.Errorf("sink %s: %w: %s: %w", s.cfg.Name, ErrDLQ, s.cfg.DLQTopic, err)
		}
		s.stats.dead.Add(int64(len(out)))
	}
	for _, f := range fs {
		if s.cfg.ErrorsLogEnable || !s.cfg.ErrorsToleranceAll {
			attrs := []any{slog.String("stage", f.stage), slog.String("topic", f.kr.Topic),
				slog.Int("partition", int(f.kr.Partition)), slog.Int64("offset", f.kr.Offset),
				slog.String("error", f.err.Error())}
			if s.cfg.Raw["errors.log.include.messages"] == "true" {
				attrs = append(attrs, slog.String("key", string(f.kr.Key)), slog.String("value", string(f.kr.Value)))
			}
			log.Warn("error encountered in task", attrs...)
		}
	}
	if !s.cfg.ErrorsToleranceAll {
		f := fs[0]
		return fmt.Errorf("sink %s: %w: %s %s[%d]@%d: %w", s.cfg.Name, ErrTolerance, f.stage, f.kr.Topic, f.kr.Partition, f.kr.Offset, f.err)
	}
	return nil
}

// dlqRecord is DeadLetterQueueReporter's record: the original key, value, headers and
// timestamp, plus the context headers when enabled.
func (s *Sink) dlqRecord(f failure) *kgo.Record {
	r := &kgo.Record{
		Topic:     s.cfg.DLQTopic,
		Key:       f.kr.Key,
		Value:     f.kr.Value,
		Timestamp: f.kr.Timestamp,
		Headers:   append([]kgo.RecordHeader(nil), f.kr.Headers...),
	}
	if s.cfg.DLQContextHeadersEnable {
		add := func(k, v string) {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: "__connect.errors." + k, Value: []byte(v)})
		}
		add("topic", f.kr.Topic)
		add("partition", strconv.Itoa(int(f.kr.Partition)))
		add("offset", strconv.FormatInt(f.kr.Offset, 10))
		add("connector.name", s.cfg.Name)
		add("task.id", "0")
		add("stage", f.stage)
		add("class.name", f.class)
		add("exception.class.name", f.exception)
		add("exception.message", f.err.Error())
		add("exception.stacktrace", f.exception+": "+f.err.Error())
	}
	return r
}

// ensureDLQ creates the DLQ topic with one partition if it is missing, as the worker
// does. The replication factor is capped at the number of brokers, so a one-broker
// local cluster works; production uses the configured factor.
func (s *Sink) ensureDLQ(ctx context.Context) error {
	if s.dlqReady {
		return nil
	}
	adm := kadm.NewClient(s.cl)
	topics, err := adm.ListTopics(ctx, s.cfg.DLQTopic)
	if err != nil {
		return fmt.Errorf("sink %s: %w: describe %s: %w", s.cfg.Name, ErrDLQ, s.cfg.DLQTopic, err)
	}
	if td, ok := topics[s.cfg.DLQTopic]; !ok || td.Err != nil {
		rf := s.cfg.DLQReplicationFactor
		if brokers, err := adm.ListBrokers(ctx); err == nil && rf > 0 && int(rf) > len(brokers) {
			rf = int16(len(brokers))
		}
		_, err := adm.CreateTopic(ctx, 1, rf, nil, s.cfg.DLQTopic)
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("sink %s: %w: create %s: %w", s.cfg.Name, ErrDLQ, s.cfg.DLQTopic, err)
		}
	}
	s.dlqReady = true
	return nil
}

type converted struct {
	r   *record
	f   *failure
	err error
}

// convertAll converts a batch, spread over the CPUs for large batches; results stay in
// record order.
func (s *Sink) convertAll(krs []*kgo.Record) []converted {
	out := make([]converted, len(krs))
	workers := min(runtime.GOMAXPROCS(0), len(krs)/256)
	if workers < 2 {
		for i, kr := range krs {
			out[i].r, out[i].f, out[i].err = s.convert(kr)
		}
		return out
	}
	var wg sync.WaitGroup
	per := (len(krs) + workers - 1) / workers
	for start := 0; start < len(krs); start += per {
		end := min(start+per, len(krs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := start; i < end; i++ {
				out[i].r, out[i].f, out[i].err = s.convert(krs[i])
			}
		}()
	}
	wg.Wait()
	return out
}

// convert runs the key and value converters and the connector's record checks. A
// converter failure comes back as a failure to report; a record the connector cannot
// take at all (RecordValidator) is an error that stops the sink.
func (s *Sink) convert(kr *kgo.Record) (*record, *failure, error) {
	r := &record{kr: kr, table: parseTableID(s.cfg.Table(kr.Topic))}
	switch s.cfg.KeyConverter {
	case StringConverter:
		r.keySchema = &envelope.Schema{Type: envelope.String, Optional: true}
		if kr.Key != nil {
			k := string(kr.Key)
			if !utf8.ValidString(k) {
				k = strings.ToValidUTF8(k, "\uFFFD") // as new String(bytes, UTF_8)
			}
			r.key = k
		}
	default:
		schema, v, err := envelope.Decode(kr.Key)
		if err != nil {
			return nil, &failure{kr: kr, stage: "KEY_CONVERTER", class: converterClass, exception: dataException,
				err: fmt.Errorf("%w: key: %w", ErrConverter, err)}, nil
		}
		r.keySchema, r.key = schema, v
	}

	schema, v, err := envelope.Decode(kr.Value)
	if err != nil {
		if nullSchema(kr.Value) {
			return nil, nil, s.recordError(kr, "a schemaless value (\"schema\": null)")
		}
		return nil, &failure{kr: kr, stage: "VALUE_CONVERTER", class: converterClass, exception: dataException,
			err: fmt.Errorf("%w: value: %w", ErrConverter, err)}, nil
	}
	if v != nil {
		st, ok := v.(*envelope.Struct)
		if !ok {
			return nil, nil, s.recordError(kr, fmt.Sprintf("a %s value", strings.ToUpper(string(schema.Type))))
		}
		r.valueSchema, r.value = schema, st
	}
	if r.value == nil && !s.cfg.DeleteEnabled {
		return nil, nil, s.recordError(kr, "a null value (a tombstone); drop tombstones with the Filter SMT and the RecordIsTombstone predicate, or set delete.enabled=true with pk.mode=record_key")
	}
	if s.cfg.PKMode == PKRecordKey && r.key == nil {
		return nil, nil, fmt.Errorf("sink %s: %w: pk.mode=record_key requires records with a non-null key, but found record at %s[%d]@%d with a null key",
			s.cfg.Name, ErrRecord, kr.Topic, kr.Partition, kr.Offset)
	}
	return r, nil, nil
}

func (s *Sink) recordError(kr *kgo.Record, what string) error {
	return fmt.Errorf("sink %s: %w: configured with delete.enabled=%t and pk.mode=%s, it requires records with a non-null Struct value and non-null Struct schema, but found record at %s[%d]@%d with %s",
		s.cfg.Name, ErrRecord, s.cfg.DeleteEnabled, s.cfg.PKMode, kr.Topic, kr.Partition, kr.Offset, what)
}

func nullSchema(value []byte) bool {
	var env struct {
		Schema json.RawMessage `json:"schema"`
	}
	return json.Unmarshal(value, &env) == nil && string(env.Schema) == "null"
}

// reset forgets cached table metadata, as the connector re-creates its writer
// after a failed put.
func (s *Sink) reset() {
	clear(s.tables)
}

// A run is consecutive records for one table with one layout, as BufferedRecords
// buffers them: upserts, then the deletes that followed them.
type run struct {
	l       *layout
	upserts []*record
	deletes []*record
}

// write applies recs in one transaction: DDL first (auto.create / auto.evolve; DDL
// commits on its own in MySQL), then every run's statements, then one commit. It
// returns the rows written. Errors wrap ErrRecord, ErrTable, ErrWrite or ErrDatabase.
func (s *Sink) write(ctx context.Context, recs []*record) (int64, error) {
	var runs []*run
	var cur *run
	var curKey, curValue *envelope.Schema
	for _, r := range recs {
		switch {
		case cur != nil && r.table == cur.l.table && sameSchema(r.keySchema, curKey) &&
			(r.tombstone() || (len(cur.deletes) == 0 && sameSchema(r.valueSchema, curValue))):
		case cur != nil && r.table == cur.l.table && sameSchema(r.keySchema, curKey) && !r.tombstone() &&
			len(cur.deletes) > 0 && sameSchema(r.valueSchema, curValue):
			// an insert after a delete starts a new run so that it is not lost
			cur = &run{l: cur.l}
			runs = append(runs, cur)
		default:
			valueSchema := r.valueSchema
			if r.tombstone() && cur != nil && r.table == cur.l.table && sameSchema(r.keySchema, curKey) {
				valueSchema = curValue
			}
			l, err := s.layout(r.table, r.keySchema, valueSchema)
			if err != nil {
				return 0, fmt.Errorf("%s[%d]@%d: %w", r.kr.Topic, r.kr.Partition, r.kr.Offset, err)
			}
			cur, curKey, curValue = &run{l: l}, r.keySchema, valueSchema
			runs = append(runs, cur)
		}
		if r.tombstone() {
			cur.deletes = append(cur.deletes, r)
		} else {
			cur.upserts = append(cur.upserts, r)
		}
	}

	for _, rn := range runs {
		if len(rn.upserts) > 0 {
			if err := s.ensureTable(ctx, rn.l); err != nil {
				return 0, err
			}
		}
	}

	tx, err := s.store.SQL.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("%w: begin: %w", ErrDatabase, err)
	}
	defer clear(s.stmts) // closed with the transaction
	var rows int64
	for _, rn := range runs {
		n, err := s.execRun(ctx, tx, rn)
		if err != nil {
			tx.Rollback()
			return 0, err
		}
		rows += n
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("%w: commit: %w", ErrWrite, err)
	}
	return rows, nil
}

func (s *Sink) layout(t tableID, keySchema, valueSchema *envelope.Schema) (*layout, error) {
	var b strings.Builder
	b.WriteString(t.String())
	b.WriteByte(0)
	schemaKey(&b, keySchema)
	b.WriteByte(0)
	schemaKey(&b, valueSchema)
	k := b.String()
	if l, ok := s.layouts[k]; ok {
		return l, nil
	}
	l, err := newLayout(&s.cfg, s.w, t, keySchema, valueSchema)
	if err != nil {
		return nil, err
	}
	switch s.cfg.InsertMode {
	case Upsert:
		if len(l.keys) == 0 {
			return nil, fmt.Errorf("%w: write to table %s in UPSERT mode requires key field names to be known, check the primary key configuration", ErrRecord, t)
		}
	case Update:
		if len(l.keys) == 0 || len(l.nonKey) == 0 {
			return nil, fmt.Errorf("%w: write to table %s in UPDATE mode requires key and non-key fields", ErrRecord, t)
		}
	}
	if s.cfg.DeleteEnabled && len(l.keys) == 0 {
		return nil, fmt.Errorf("%w: delete to table %s requires key field names to be known", ErrRecord, t)
	}
	for _, c := range l.insertCols {
		if c.schema.Type == envelope.Array || c.schema.Type == envelope.Map || c.schema.Type == envelope.StructType {
			return nil, fmt.Errorf("%w: column %s of table %s: unsupported source data type %s", ErrRecord, c.name, t, strings.ToUpper(string(c.schema.Type)))
		}
	}
	if len(s.layouts) > 256 {
		clear(s.layouts)
		clear(s.texts)
	}
	s.layouts[k] = l
	return l, nil
}

// columns reads a table's columns (lower-case name → name); nil when it is missing.
func (s *Sink) columns(ctx context.Context, t tableID) (map[string]string, error) {
	if cols, ok := s.tables[t]; ok {
		return cols, nil
	}
	var (
		rows *sql.Rows
		err  error
	)
	if s.store.Dialect == db.MySQL {
		rows, err = s.store.SQL.QueryContext(ctx, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ?", t.catalog, t.name)
	} else {
		rows, err = s.store.SQL.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", t.name)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read columns of %s: %w", ErrWrite, t, err)
	}
	defer rows.Close()
	cols := map[string]string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("%w: read columns of %s: %w", ErrWrite, t, err)
		}
		cols[strings.ToLower(n)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: read columns of %s: %w", ErrWrite, t, err)
	}
	if len(cols) == 0 {
		return nil, nil
	}
	s.tables[t] = cols
	return cols, nil
}

// ensureTable is DbStructure.createOrAmendIfNecessary.
func (s *Sink) ensureTable(ctx context.Context, l *layout) error {
	cols, err := s.columns(ctx, l.table)
	if err != nil {
		return err
	}
	if cols == nil {
		if !s.cfg.AutoCreate {
			return fmt.Errorf("%w: table %s is missing and auto-creation is disabled (apply db/migrations: ordersync migrate)", ErrTable, l.table)
		}
		if err := s.create(ctx, l); err != nil {
			// Someone else may have created it meanwhile: then amend it.
			delete(s.tables, l.table)
			if again, rerr := s.columns(ctx, l.table); rerr != nil || again == nil {
				return err
			}
		} else {
			s.log().Info("table created", slog.String("connector", s.cfg.Name), slog.String("table", l.table.String()))
		}
		delete(s.tables, l.table)
		if cols, err = s.columns(ctx, l.table); err != nil {
			return err
		}
		if cols == nil {
			return fmt.Errorf("%w: table %s still missing after CREATE TABLE", ErrWrite, l.table)
		}
	}
	var missing []*column
	for _, c := range l.all {
		if _, ok := cols[strings.ToLower(c.name)]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, len(missing))
	for i, c := range missing {
		names[i] = c.name
	}
	if !s.cfg.AutoEvolve {
		return fmt.Errorf("%w: table %s is missing fields %v and auto-evolution is disabled", ErrTable, l.table, names)
	}
	for _, c := range missing {
		if !c.optional && c.schema.Default == nil {
			return fmt.Errorf("%w: cannot ALTER TABLE %s to add missing field %s, as the field is not optional and does not have a default value", ErrTable, l.table, c.name)
		}
	}
	if l.mapErr != nil {
		return l.mapErr
	}
	stmts, err := s.w.alter(l.table, missing)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	for _, q := range stmts {
		if _, err := s.store.SQL.ExecContext(ctx, q); err != nil {
			delete(s.tables, l.table)
			return fmt.Errorf("%w: amend table %s: %w", ErrWrite, l.table, err)
		}
	}
	s.log().Info("table altered", slog.String("connector", s.cfg.Name), slog.String("table", l.table.String()), slog.Any("added", names))
	delete(s.tables, l.table)
	return nil
}

// errTextKey is the hint for MySQL's "BLOB/TEXT column used in key specification".
const textKeyHint = "auto.create maps a string key to TEXT, which MySQL/MariaDB cannot use in a PRIMARY KEY without a key length (kafka-connect-jdbc issue #996, the real connector fails the same way); create the table first: ordersync migrate (db/migrations)"

func (s *Sink) create(ctx context.Context, l *layout) error {
	if l.mapErr != nil {
		return l.mapErr
	}
	q, err := s.w.create(l)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	var textKeys []string
	for _, c := range l.all {
		if c.key && c.sqlType == "TEXT" {
			textKeys = append(textKeys, c.name)
		}
	}
	if len(textKeys) > 0 && s.store.Dialect == db.SQLite {
		// SQLite could index TEXT, but the table would then work here and fail in
		// production: refuse it the way MySQL does.
		return fmt.Errorf("%w: create table %s: string primary key column(s) %v: %s", ErrWrite, l.table, textKeys, textKeyHint)
	}
	if _, err := s.store.SQL.ExecContext(ctx, q); err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == 1170 {
			return fmt.Errorf("%w: create table %s: %w: %s", ErrWrite, l.table, err, textKeyHint)
		}
		return fmt.Errorf("%w: create table %s: %w", ErrWrite, l.table, err)
	}
	return nil
}

// stmt returns q prepared in tx, once per transaction (the update and delete loops
// run one statement per record). The texts themselves are cached per layout and rows.
func (s *Sink) stmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	if st, ok := s.stmts[q]; ok {
		return st, nil
	}
	st, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	s.stmts[q] = st
	return st, nil
}

// statement texts are cached per (layout, kind, rows).
type textKey struct {
	l    *layout
	kind byte
	rows int
}

func (s *Sink) text(l *layout, kind byte, rows int) string {
	k := textKey{l, kind, rows}
	if q, ok := s.texts[k]; ok {
		return q
	}
	var q string
	switch kind {
	case 'i':
		q = s.w.insert(l, rows, false)
	case 'u':
		q = s.w.insert(l, rows, true)
	case 'U':
		q = s.w.update(l)
	case 'd':
		q = s.w.delete(l)
	}
	if len(s.texts) > 256 {
		clear(s.texts)
	}
	s.texts[k] = q
	return q
}

// execRun writes one run: multi-row INSERTs of at most batch.size rows (and within the
// placeholder limit), or one UPDATE per record, then the deletes.
func (s *Sink) execRun(ctx context.Context, tx *sql.Tx, rn *run) (int64, error) {
	l := rn.l
	var rows int64
	if len(rn.upserts) > 0 {
		switch s.cfg.InsertMode {
		case Update:
			st, err := s.stmt(ctx, tx, s.text(l, 'U', 1))
			if err != nil {
				return 0, fmt.Errorf("%w: prepare update %s: %w", ErrWrite, l.table, err)
			}
			cols := append(append([]*column{}, l.nonKey...), l.keys...)
			for _, r := range rn.upserts {
				args, err := l.args(s.args[:0], cols, r)
				if err != nil {
					return 0, err
				}
				if _, err := st.ExecContext(ctx, args...); err != nil {
					return 0, fmt.Errorf("%w: update %s: %w", ErrWrite, l.table, err)
				}
				rows++
			}
		default:
			kind := byte('i')
			if s.cfg.InsertMode == Upsert {
				kind = 'u'
			}
			per := min(s.cfg.BatchSize, maxParams[s.store.Dialect]/len(l.insertCols))
			for start := 0; start < len(rn.upserts); start += per {
				chunk := rn.upserts[start:min(start+per, len(rn.upserts))]
				args := s.args[:0]
				for _, r := range chunk {
					var err error
					if args, err = l.args(args, l.insertCols, r); err != nil {
						return 0, err
					}
				}
				s.args = args
				st, err := s.stmt(ctx, tx, s.text(l, kind, len(chunk)))
				if err != nil {
					return 0, fmt.Errorf("%w: prepare insert into %s: %w", ErrWrite, l.table, err)
				}
				if _, err := st.ExecContext(ctx, args...); err != nil {
					return 0, fmt.Errorf("%w: insert into %s: %w", ErrWrite, l.table, err)
				}
				clear(args)
				rows += int64(len(chunk))
			}
		}
	}
	if len(rn.deletes) > 0 {
		st, err := s.stmt(ctx, tx, s.text(l, 'd', 1))
		if err != nil {
			return 0, fmt.Errorf("%w: prepare delete from %s: %w", ErrWrite, l.table, err)
		}
		for _, r := range rn.deletes {
			args, err := l.args(s.args[:0], l.keys, r)
			if err != nil {
				return 0, err
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return 0, fmt.Errorf("%w: delete from %s: %w", ErrWrite, l.table, err)
			}
			rows++
		}
	}
	return rows, nil
}
