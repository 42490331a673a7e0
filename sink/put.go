package sink

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/ordersync/ordersync/shared/metrics"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A failure is a record the connector reports to the errant record reporter.
type failure struct {
	kr        *kgo.Record
	stage     string // KEY_CONVERTER, VALUE_CONVERTER, TASK_PUT
	class     string // executing class
	exception string // exception class
	err       error
}

// put is WorkerSinkTask.deliverMessages + JdbcSinkTask.put for one converted batch:
// report converter failures, write in one transaction with whole-batch retries, unroll
// to the DLQ when allowed, produce the DLQ records, then commit offsets. work never ends
// early; stop is the caller's context, checked only between retries.
func (s *Sink) put(work, stop context.Context, krs []*kgo.Record, converted []converted) error {
	start, rows, dead := time.Now(), s.stats.rows.Load(), s.stats.dead.Load()
	if err := s.deliver(work, stop, krs, converted); err != nil {
		return err
	}
	s.observe(start, s.stats.rows.Load()-rows, s.stats.dead.Load()-dead)
	return nil
}

// observe writes one put's metrics document (docs/operating.md): the rows written, the
// records dead-lettered, and the time from the batch's start to its offset commit.
func (s *Sink) observe(start time.Time, rows, dead int64) {
	if s.Metrics == nil {
		return
	}
	s.Metrics.Add("RowsWritten", metrics.Count, float64(rows))
	s.Metrics.Add("DeadLettered", metrics.Count, float64(dead))
	s.Metrics.Since("BatchLatency", start)
	if err := s.Metrics.Flush(time.Now()); err != nil {
		s.log().Warn("write metrics", slog.Any("error", err))
	}
}

// deliver is one put without its metrics.
func (s *Sink) deliver(work, stop context.Context, krs []*kgo.Record, converted []converted) error {
	log := s.log().With(slog.String("connector", s.cfg.Name))
	recs := make([]*record, 0, len(krs))
	for i := range krs {
		c := converted[i]
		if c.err != nil {
			return c.err
		}
		if c.f != nil {
			if err := s.report(work, log, []failure{*c.f}); err != nil {
				return err
			}
			continue
		}
		recs = append(recs, c.r)
	}
	if len(recs) > 0 {
		written, err := s.writeBatch(work, stop, log, recs)
		if err != nil || !written {
			return err // not written: stopped between retries, so not committed either
		}
	}
	return s.commitOffsets(work, krs)
}

// writeBatch writes recs in one transaction, retrying the whole batch max.retries times
// after a write error, then unrolls it to the errant record reporter when one is
// configured. It reports false (and no error) when stop ends it between retries.
func (s *Sink) writeBatch(work, stop context.Context, log *slog.Logger, recs []*record) (bool, error) {
	remaining := s.cfg.MaxRetries
	for {
		rows, err := s.write(work, recs)
		if err == nil {
			s.stats.rows.Add(rows)
			return true, nil
		}
		if errors.Is(err, ErrRecord) || errors.Is(err, ErrDatabase) {
			return false, fmt.Errorf("sink %s: %w: %w", s.cfg.Name, ErrTolerance, err)
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
				return false, nil // not committed: the batch is delivered again after a restart
			}
			continue
		}
		if connectionLost(err) {
			// Out of retries because the database is away: no record is at fault, so none
			// is unrolled to the DLQ; the batch stays uncommitted for a restarted sink.
			return false, fmt.Errorf("sink %s: %w: %w", s.cfg.Name, ErrDatabase, err)
		}
		if !s.cfg.reporter() {
			return false, fmt.Errorf("sink %s: %w (set errors.deadletterqueue.topic.name or errors.log.enable to report failing records): %w", s.cfg.Name, ErrTolerance, err)
		}
		return true, s.unroll(work, log, recs)
	}
}

// unroll writes every record alone, in its own transaction, and reports the ones that
// fail (kafka-connect-jdbc >= 10.1).
func (s *Sink) unroll(work context.Context, log *slog.Logger, recs []*record) error {
	s.reset()
	var reports []failure
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
	return s.report(work, log, reports)
}

// commitOffsets commits a written batch's offsets: after the database commit, never
// before.
func (s *Sink) commitOffsets(work context.Context, krs []*kgo.Record) error {
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
	s.logFailures(ctx, log, fs)
	if !s.cfg.ErrorsToleranceAll {
		f := fs[0]
		return &recordFault{f.kr, fmt.Errorf("sink %s: %w: %s %s[%d]@%d: %w", s.cfg.Name, ErrTolerance, f.stage, f.kr.Topic, f.kr.Partition, f.kr.Offset, f.err)}
	}
	return nil
}

// logFailures writes one WARN line per reported record, with its order id and the
// reason: "record dead-lettered" once it is in the DLQ, otherwise "error encountered in
// task" when errors.log.enable is set or the failure stops the sink.
func (s *Sink) logFailures(ctx context.Context, log *slog.Logger, fs []failure) {
	msg := "error encountered in task"
	if s.cfg.DLQTopic != "" {
		msg = "record dead-lettered"
	} else if !s.cfg.ErrorsLogEnable && s.cfg.ErrorsToleranceAll {
		return
	}
	for _, f := range fs {
		attrs := append(recordAttrs(nil, f.kr, nil), slog.String("stage", f.stage), slog.String("reason", f.err.Error()))
		if s.cfg.DLQTopic != "" {
			attrs = append(attrs, slog.String("dlq_topic", s.cfg.DLQTopic))
		}
		if s.cfg.Raw["errors.log.include.messages"] == "true" {
			attrs = append(attrs, slog.String("key", string(f.kr.Key)), slog.String("value", string(f.kr.Value)))
		}
		log.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
	}
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

// reset forgets cached table metadata, as the connector re-creates its writer
// after a failed put.
func (s *Sink) reset() {
	clear(s.tables)
}
