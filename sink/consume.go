package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

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
				log.LogAttrs(ctx, slog.LevelError, "sink stopped", append(faultAttrs(err), slog.String("error", err.Error()))...)
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
