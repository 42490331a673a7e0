// Package trigger provides a Kafka event source emulation: a consumer group that hands
// records to a function in events.KafkaEvent batches shaped as Lambda's MSK and
// self-managed Kafka triggers shape them, committing offsets only after the function
// succeeds and retrying a failed batch until it does.
package trigger

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Event sources as Lambda names them in the event.
const (
	SourceMSK              = "aws:kafka"
	SourceSelfManagedKafka = "SelfManagedKafka"
)

// MaxPayload is Lambda's limit for an invocation payload; a batch stops growing before it.
const MaxPayload = 6 << 20

// Invoker runs one invocation of a function.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Config describes one trigger.
type Config struct {
	Name       string   // for logs, e.g. "validate-order/OrdersSubmitted"
	Brokers    []string // seed brokers
	ClientOpts []kgo.Opt
	// NewClient builds the consumer (kgo.NewClient when nil); a caller passes one that
	// adds its authentication.
	NewClient        func(opts ...kgo.Opt) (*kgo.Client, error)
	Topics           []string
	Group            string
	InstanceID       string // static group membership, so a restart takes its partitions back at once
	BatchSize        int
	Window           time.Duration // MaximumBatchingWindowInSeconds
	StartAtLatest    bool          // StartingPosition LATEST; TRIM_HORIZON otherwise
	EventSource      string        // SourceMSK or SourceSelfManagedKafka
	EventSourceARN   string
	BootstrapServers string // as shown in the event; Brokers joined when empty
	Function         Invoker
	Logf             func(format string, args ...any)
	MinBackoff       time.Duration
	MaxBackoff       time.Duration
	Errors           ErrorHandling // the event source mapping's error controls
}

// Trigger is a running event source.
type Trigger struct {
	cfg Config
	cl  *kgo.Client
}

// New joins the consumer group.
func New(cfg Config) (*Trigger, error) {
	if cfg.Function == nil {
		return nil, errors.New("trigger: no function")
	}
	if len(cfg.Topics) == 0 {
		return nil, errors.New("trigger: no topics")
	}
	if cfg.BatchSize < 1 {
		cfg.BatchSize = 100
	}
	cfg.EventSource = cmp.Or(cfg.EventSource, SourceMSK)
	cfg.BootstrapServers = cmp.Or(cfg.BootstrapServers, strings.Join(cfg.Brokers, ","))
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 200 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	reset := kgo.NewOffset().AtStart()
	if cfg.StartAtLatest {
		reset = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.ConsumeResetOffset(reset),
		kgo.DisableAutoCommit(),
		// A batch in the function is never revoked under it; the group waits.
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(6 * time.Second),
		kgo.FetchMaxWait(time.Second),
	}
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	opts = append(opts, cfg.ClientOpts...)
	newClient := cfg.NewClient
	if newClient == nil {
		newClient = kgo.NewClient
	}
	cl, err := newClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("trigger %s: %w", cfg.Name, err)
	}
	return &Trigger{cfg: cfg, cl: cl}, nil
}

// Run delivers batches until ctx ends; the batch in the function then finishes and is
// committed (or left uncommitted, to be delivered again) before Run returns.
func (t *Trigger) Run(ctx context.Context) error {
	defer t.cl.Close()
	// A client blocking rebalances cannot leave its group: allow them before Close.
	defer t.cl.AllowRebalance()
	var pending []*kgo.Record
	for {
		batch, rest, err := t.next(ctx, pending)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		pending = rest
		// The batch runs to success even while shutting down, so that nothing is
		// delivered twice without need; a failing batch stops at shutdown, uncommitted.
		if err := t.deliver(ctx, batch); err != nil {
			t.cl.AllowRebalance()
			return nil
		}
		if len(pending) == 0 {
			t.cl.AllowRebalance()
		}
		if ctx.Err() != nil && len(pending) == 0 {
			return nil
		}
	}
}

// next gathers a batch: up to BatchSize records or MaxPayload bytes, waiting at most
// Window for more once the first record is in. Records fetched beyond the batch are
// returned as rest, for the next batch.
func (t *Trigger) next(ctx context.Context, pending []*kgo.Record) (batch, rest []*kgo.Record, err error) {
	size := 0
	var windowEnd time.Time
	for {
		for len(pending) > 0 && len(batch) < t.cfg.BatchSize {
			n := recordSize(pending[0])
			if len(batch) > 0 && size+n > MaxPayload {
				break
			}
			batch = append(batch, pending[0])
			size += n
			pending = pending[1:]
		}
		if len(batch) > 0 {
			if windowEnd.IsZero() {
				windowEnd = time.Now().Add(t.cfg.Window)
			}
			if len(batch) >= t.cfg.BatchSize || len(pending) > 0 || !time.Now().Before(windowEnd) {
				return batch, pending, nil
			}
		}
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if len(batch) > 0 {
			pctx, cancel = context.WithDeadline(ctx, windowEnd)
		}
		fs := t.cl.PollRecords(pctx, t.cfg.BatchSize-len(batch))
		cancel()
		if fs.IsClientClosed() {
			return nil, nil, kgo.ErrClientClosed
		}
		if ctx.Err() != nil {
			// Shutting down: what was fetched is not committed and comes again later.
			return nil, nil, ctx.Err()
		}
		failed := false
		fs.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return
			}
			t.cfg.Logf("fetch %s[%d]: %v", topic, p, err)
			failed = true
		})
		pending = append(pending, fs.Records()...)
		if failed && len(pending) == 0 {
			time.Sleep(t.cfg.MinBackoff)
		}
	}
}

// deliver runs batch through the function under the trigger's error controls (by
// default: retry until it succeeds), then commits. It gives up (returning an error,
// committing nothing) only when ctx ends while the batch is failing.
func (t *Trigger) deliver(ctx context.Context, batch []*kgo.Record) error {
	if err := t.settle(ctx, batch, 0); err != nil {
		return err
	}
	// Commit synchronously; a failed commit only means redelivery, which the pipeline
	// absorbs (the sink upserts by order id), so it is retried a few times and logged.
	for attempt := 1; attempt <= 5; attempt++ {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := t.cl.CommitRecords(cctx, batch...)
		cancel()
		if err == nil {
			return nil
		}
		t.cfg.Logf("commit %s: %v", span(batch), err)
		time.Sleep(t.cfg.MinBackoff)
	}
	return nil
}

// Event builds the event Lambda's Kafka event source sends for records: grouped by
// "topic-partition" in offset order, keys and values base64, headers as byte arrays.
func Event(source, arn, bootstrap string, records []*kgo.Record) events.KafkaEvent {
	ev := events.KafkaEvent{
		EventSource:      source,
		EventSourceARN:   arn,
		BootstrapServers: bootstrap,
		Records:          map[string][]events.KafkaRecord{},
	}
	for _, r := range records {
		key := partitionKey(r)
		kr := events.KafkaRecord{
			Topic:         r.Topic,
			Partition:     int64(r.Partition),
			Offset:        r.Offset,
			Timestamp:     events.MilliSecondsEpochTime{Time: r.Timestamp},
			TimestampType: "CREATE_TIME",
			Headers:       make([]map[string]events.JSONNumberBytes, 0, len(r.Headers)),
		}
		if r.Attrs.TimestampType() == 1 {
			kr.TimestampType = "LOG_APPEND_TIME"
		}
		if r.Key != nil {
			kr.Key = base64.StdEncoding.EncodeToString(r.Key)
		}
		if r.Value != nil {
			kr.Value = base64.StdEncoding.EncodeToString(r.Value)
		}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, map[string]events.JSONNumberBytes{h.Key: events.JSONNumberBytes(h.Value)})
		}
		ev.Records[key] = append(ev.Records[key], kr)
	}
	return ev
}

// recordSize estimates a record's share of the JSON payload.
func recordSize(r *kgo.Record) int {
	n := 200 + len(r.Topic) + base64.StdEncoding.EncodedLen(len(r.Key)) + base64.StdEncoding.EncodedLen(len(r.Value))
	for _, h := range r.Headers {
		n += len(h.Key) + 5*len(h.Value) + 8
	}
	return n
}

func span(batch []*kgo.Record) string {
	first, last := batch[0], batch[len(batch)-1]
	return fmt.Sprintf("%s[%d]@%d..%s[%d]@%d", first.Topic, first.Partition, first.Offset, last.Topic, last.Partition, last.Offset)
}
