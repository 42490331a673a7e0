package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrorHandling holds a Kafka event source mapping's error controls, with the meaning
// AWS documents for them (they need provisioned mode there). The zero value is the
// default: retry a failing batch until it succeeds, in order, for ever.
type ErrorHandling struct {
	// LimitRetries and MaxRetries are MaximumRetryAttempts: without LimitRetries (the
	// zero value, AWS's -1) a failing batch is retried for ever, or at most 10 times when
	// there is an on-failure destination, as Lambda caps it; with it, MaxRetries retries
	// follow the first attempt.
	LimitRetries bool
	MaxRetries   int
	// MaxRecordAge is MaximumRecordAgeInSeconds: older records are not sent to the
	// function but to the on-failure destination. Zero is infinite.
	MaxRecordAge time.Duration
	// Bisect is BisectBatchOnFunctionError: a batch whose invocation fails is split in
	// two halves that are retried separately (a split does not count as a retry).
	Bisect bool
	// ReportBatchItemFailures is FunctionResponseTypes [ReportBatchItemFailures]: the
	// function may answer {"batchItemFailures":[{"itemIdentifier":{"partition":
	// "topic-n","offset":n}}]}; per partition the lowest reported offset is where the
	// retry starts, and the records before it count as processed.
	ReportBatchItemFailures bool
	// OnFailure receives the records given up on (retries exhausted or too old) with
	// the reason; nil means they are dropped, as with no destination. It is retried
	// until it succeeds, so nothing is skipped unrecorded.
	OnFailure func(ctx context.Context, records []*kgo.Record, reason string) error
}

// retryLimit is the number of retries allowed, or -1 for no limit.
func (e ErrorHandling) retryLimit() int {
	switch {
	case e.LimitRetries:
		return e.MaxRetries
	case e.OnFailure != nil:
		return 10
	}
	return -1
}

// errBadBatchResponse is a partial batch response Lambda would treat as a complete failure.
var errBadBatchResponse = errors.New("batch item failures: bad itemIdentifier")

// settle invokes the function with batch until every record has succeeded or has been
// handed to the on-failure destination. retries counts the retries already spent.
func (t *Trigger) settle(ctx context.Context, batch []*kgo.Record, retries int) error {
	backoff := t.cfg.MinBackoff
	for attempt := 1; len(batch) > 0; attempt++ {
		var err error
		if batch, err = t.dropOld(ctx, batch); err != nil || len(batch) == 0 {
			return err
		}
		retry, err := t.invoke(ctx, batch)
		if err == nil && len(retry) == 0 {
			return nil
		}
		if err != nil && t.cfg.Errors.Bisect && len(batch) > 1 {
			t.cfg.Logf("batch of %d (%s) failed, splitting it: %v", len(batch), span(batch), err)
			half := len(batch) / 2
			if err := t.settle(ctx, batch[:half], retries); err != nil {
				return err
			}
			return t.settle(ctx, batch[half:], retries)
		}
		if err != nil {
			retry = batch
		} else {
			err = fmt.Errorf("%d records reported failed", len(retry))
		}
		if limit := t.cfg.Errors.retryLimit(); limit >= 0 && retries >= limit {
			t.cfg.Logf("batch of %d (%s) failed after %d retries, giving up: %v", len(retry), span(retry), retries, err)
			return t.giveUp(ctx, retry, "retries exhausted: "+err.Error())
		}
		retries++
		t.cfg.Logf("batch of %d (%s) failed, attempt %d, retrying %d records in %s: %v", len(batch), span(batch), attempt, len(retry), backoff, err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, t.cfg.MaxBackoff)
		batch = retry
	}
	return nil
}

// invoke runs one invocation and returns the records to retry: nil on success, the
// reported ones and everything after them in their partitions for a partial batch
// response. A function error, or a response Lambda would not accept, is an error.
func (t *Trigger) invoke(ctx context.Context, batch []*kgo.Record) ([]*kgo.Record, error) {
	payload, err := json.Marshal(Event(t.cfg.EventSource, t.cfg.EventSourceARN, t.cfg.BootstrapServers, batch))
	if err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	// A function already running is allowed to finish at shutdown: detach from ctx.
	out, err := t.cfg.Function.Invoke(context.WithoutCancel(ctx), payload)
	if err != nil || !t.cfg.Errors.ReportBatchItemFailures {
		return nil, err
	}
	return Failed(batch, out)
}

// batchResponse is the Kafka form of a partial batch response.
type batchResponse struct {
	BatchItemFailures []struct {
		ItemIdentifier *struct {
			Partition *string `json:"partition"`
			Offset    *int64  `json:"offset"`
		} `json:"itemIdentifier"`
	} `json:"batchItemFailures"`
}

// Failed reads a function's partial batch response for batch and returns the records
// to retry: in each partition named, every record from the lowest reported offset on.
// An empty or null response, or an empty list, is a complete success; an identifier
// that is null, malformed or names no record of the batch makes it a complete failure.
func Failed(batch []*kgo.Record, response []byte) ([]*kgo.Record, error) {
	var r batchResponse
	if len(response) == 0 || string(response) == "null" {
		return nil, nil
	}
	if err := json.Unmarshal(response, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadBatchResponse, err)
	}
	from := map[string]int64{} // "topic-partition" → lowest failed offset
	for _, f := range r.BatchItemFailures {
		id := f.ItemIdentifier
		if id == nil || id.Partition == nil || id.Offset == nil {
			return nil, errBadBatchResponse
		}
		if !slices.ContainsFunc(batch, func(rec *kgo.Record) bool {
			return partitionKey(rec) == *id.Partition && rec.Offset == *id.Offset
		}) {
			return nil, fmt.Errorf("%w: %s@%d is not in the batch", errBadBatchResponse, *id.Partition, *id.Offset)
		}
		if o, ok := from[*id.Partition]; !ok || *id.Offset < o {
			from[*id.Partition] = *id.Offset
		}
	}
	var retry []*kgo.Record
	for _, rec := range batch {
		if o, ok := from[partitionKey(rec)]; ok && rec.Offset >= o {
			retry = append(retry, rec)
		}
	}
	return retry, nil
}

func partitionKey(r *kgo.Record) string { return r.Topic + "-" + strconv.Itoa(int(r.Partition)) }

// dropOld hands records older than MaxRecordAge to the on-failure destination and
// returns the rest.
func (t *Trigger) dropOld(ctx context.Context, batch []*kgo.Record) ([]*kgo.Record, error) {
	if t.cfg.Errors.MaxRecordAge <= 0 {
		return batch, nil
	}
	cutoff := time.Now().Add(-t.cfg.Errors.MaxRecordAge)
	var old, young []*kgo.Record
	for _, r := range batch {
		if r.Timestamp.Before(cutoff) {
			old = append(old, r)
		} else {
			young = append(young, r)
		}
	}
	if len(old) == 0 {
		return batch, nil
	}
	return young, t.giveUp(ctx, old, "record older than the maximum record age")
}

// giveUp hands records to the on-failure destination; without one they are dropped.
func (t *Trigger) giveUp(ctx context.Context, records []*kgo.Record, reason string) error {
	if t.cfg.Errors.OnFailure == nil {
		t.cfg.Logf("dropping %d records (%s): %s; no on-failure destination", len(records), span(records), reason)
		return nil
	}
	backoff := t.cfg.MinBackoff
	for {
		err := t.cfg.Errors.OnFailure(context.WithoutCancel(ctx), records, reason)
		if err == nil {
			return nil
		}
		t.cfg.Logf("on-failure destination for %d records (%s): %v; retrying in %s", len(records), span(records), err, backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, t.cfg.MaxBackoff)
	}
}
