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
// and its credentials are ignored in favour of the database given to Open; the Kafka
// connection is the shared/kafka config given to Open.
package sink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/shared/metrics"
	_ "modernc.org/sqlite" // the embedded SQLite file, pure Go

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
	// Metrics receives one EMF document per put (nil: none). Set before Run.
	Metrics *metrics.Recorder

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

// clientOpts are the options a sink's Kafka client needs on top of the connection
// settings: group connect-<name>, the configured topics from the earliest offset,
// manual commits, no rebalance while a batch is in flight.
func clientOpts(cfg Config) []kgo.Opt {
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

// Open creates a sink for cfg writing to store, with a Kafka client for kcfg built by
// shared/kafka (so that every KAFKA_AUTH mode reaches the sink) with the sink's consumer
// options and then opts (a logger, say). The sink owns the client and closes it when Run
// returns.
func Open(ctx context.Context, cfg Config, store *db.DB, kcfg kafka.Config, opts ...kgo.Opt) (*Sink, error) {
	cl, err := kafka.NewClient(ctx, kcfg, append(clientOpts(cfg), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", cfg.Name, err)
	}
	s, err := New(cfg, store, cl)
	if err != nil {
		cl.Close()
		return nil, err
	}
	return s, nil
}

// New creates a sink for cfg writing to store, consuming and producing (to the dead
// letter queue) with cl, a client built with the sink's consumer options (Open builds
// one). The sink owns cl from then on and closes it when Run returns; when New fails,
// cl stays the caller's.
func New(cfg Config, store *db.DB, cl *kgo.Client) (*Sink, error) {
	if store == nil || store.SQL == nil {
		return nil, fmt.Errorf("sink %s: no database", cfg.Name)
	}
	if cl == nil {
		return nil, fmt.Errorf("sink %s: no kafka client", cfg.Name)
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
