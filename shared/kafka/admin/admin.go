// Package admin provides idempotent creation and checking of the pipeline's topics with
// the durability they need (replication factor, min.insync.replicas), through kadm.
//
// It lives apart from shared/kafka so that the Lambda functions, which import
// shared/kafka, do not link the admin client.
package admin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Spec is what every topic should have.
type Spec struct {
	Partitions        int32 // at least this many partitions
	ReplicationFactor int16 // replicas of every partition
	MinInsyncReplicas int   // min.insync.replicas: with acks=all, how many replicas must have a record
}

// Default is the durable setting for a three-Availability-Zone cluster: a record
// acknowledged with acks=all is on at least two brokers, and one broker may be lost
// (or patched) without refusing writes.
var Default = Spec{Partitions: 3, ReplicationFactor: 3, MinInsyncReplicas: 2}

// Errors returned by Ensure.
var (
	ErrSpec     = errors.New("bad topic spec")
	ErrMismatch = errors.New("existing topics do not have the wanted settings")
)

// Validate reports a spec that cannot be durable or cannot be created.
func (s Spec) Validate() error {
	switch {
	case s.Partitions < 1:
		return fmt.Errorf("%w: %d partitions, want at least 1", ErrSpec, s.Partitions)
	case s.ReplicationFactor < 1:
		return fmt.Errorf("%w: replication factor %d, want at least 1", ErrSpec, s.ReplicationFactor)
	case s.MinInsyncReplicas < 1:
		return fmt.Errorf("%w: min.insync.replicas %d, want at least 1", ErrSpec, s.MinInsyncReplicas)
	case s.MinInsyncReplicas > int(s.ReplicationFactor):
		return fmt.Errorf("%w: min.insync.replicas %d is above the replication factor %d: every acks=all write would fail",
			ErrSpec, s.MinInsyncReplicas, s.ReplicationFactor)
	}
	return nil
}

// Actions of a Result.
const (
	Created     = "created"
	WouldCreate = "would create" // dry run
	OK          = "ok"           // exists with the wanted settings
	Mismatch    = "mismatch"     // exists, and Problems says how it differs
)

// Result is what Ensure did or found for one topic.
type Result struct {
	Topic    string
	Action   string   // Created, WouldCreate, OK or Mismatch
	Problems []string // for Mismatch: each setting that differs, e.g. "replication factor 1, want 3"
}

// Ensure creates the topics that do not exist with spec, and checks the ones that do.
// It never changes an existing topic: a topic whose partitions, replication factor or
// min.insync.replicas fall short is reported as Mismatch, and Ensure then returns
// ErrMismatch with the results. Changing them (a partition reassignment, an
// AlterConfigs) is left to the operator, who knows what the cluster is serving. With
// dryRun it creates nothing. Running it again is a no-op.
//
// cl should serve admin requests only: Ensure drops the topics from its metadata cache
// first, so that what it sees is the cluster's state now, not up to MetadataMinAge old.
func Ensure(ctx context.Context, cl *kgo.Client, topics []string, spec Spec, dryRun bool) ([]Result, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	topics = slices.Compact(slices.Sorted(slices.Values(topics)))
	cl.PurgeTopicsFromClient(topics...)
	adm := kadm.NewClient(cl)
	details, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var missing, existing []string
	for _, t := range topics {
		d, ok := details[t]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			missing = append(missing, t)
		case d.Err != nil:
			return nil, fmt.Errorf("describe topic %s: %w", t, d.Err)
		default:
			existing = append(existing, t)
		}
	}
	results, raced, err := create(ctx, adm, missing, spec, dryRun)
	if err != nil {
		return results, err
	}
	if len(raced) > 0 { // created by someone else meanwhile: check them as they are
		cl.PurgeTopicsFromClient(raced...)
		more, err := adm.ListTopics(ctx, raced...)
		if err != nil {
			return results, fmt.Errorf("list topics: %w", err)
		}
		maps.Copy(details, more)
		existing = append(existing, raced...)
	}
	checked, err := check(ctx, adm, details, existing, spec)
	results = append(results, checked...)
	slices.SortFunc(results, func(a, b Result) int { return strings.Compare(a.Topic, b.Topic) })
	if err != nil {
		return results, err
	}
	for _, r := range results {
		if r.Action == Mismatch {
			return results, ErrMismatch
		}
	}
	return results, nil
}

// create makes the missing topics with spec, min.insync.replicas set on each. raced are
// the topics another client created between the listing and this request.
func create(ctx context.Context, adm *kadm.Client, missing []string, spec Spec, dryRun bool) (results []Result, raced []string, err error) {
	if len(missing) == 0 {
		return nil, nil, nil
	}
	if dryRun {
		for _, t := range missing {
			results = append(results, Result{Topic: t, Action: WouldCreate})
		}
		return results, nil, nil
	}
	configs := map[string]*string{"min.insync.replicas": kadm.StringPtr(strconv.Itoa(spec.MinInsyncReplicas))}
	resps, err := adm.CreateTopics(ctx, spec.Partitions, spec.ReplicationFactor, configs, missing...)
	if err != nil {
		return nil, nil, fmt.Errorf("create topics: %w", err)
	}
	for _, t := range missing {
		r, ok := resps[t]
		switch {
		case !ok:
			return results, raced, fmt.Errorf("create topic %s: no answer from the cluster", t)
		case errors.Is(r.Err, kerr.TopicAlreadyExists):
			raced = append(raced, t)
		case r.Err != nil:
			return results, raced, fmt.Errorf("create topic %s (%d partitions, replication factor %d): %w %s",
				t, spec.Partitions, spec.ReplicationFactor, r.Err, r.ErrMessage)
		default:
			results = append(results, Result{Topic: t, Action: Created})
		}
	}
	return results, raced, nil
}

// check compares existing topics with spec: partition count, every partition's replica
// count, and the effective min.insync.replicas (the topic's own, or the broker default).
func check(ctx context.Context, adm *kadm.Client, details kadm.TopicDetails, existing []string, spec Spec) ([]Result, error) {
	if len(existing) == 0 {
		return nil, nil
	}
	configs, err := adm.DescribeTopicConfigs(ctx, existing...)
	if err != nil {
		return nil, fmt.Errorf("describe topic configs: %w", err)
	}
	var results []Result
	for _, t := range existing {
		var problems []string
		d := details[t]
		if n := int32(len(d.Partitions)); n < spec.Partitions {
			problems = append(problems, fmt.Sprintf("%d partitions, want at least %d", n, spec.Partitions))
		}
		if rf := minReplicas(d); rf < int(spec.ReplicationFactor) {
			problems = append(problems, fmt.Sprintf("replication factor %d, want %d", rf, spec.ReplicationFactor))
		}
		rc, err := configs.On(t, nil)
		if err != nil || rc.Err != nil {
			return results, fmt.Errorf("describe configs of %s: %w", t, errors.Join(err, rc.Err))
		}
		isr, err := minInsync(rc)
		if err != nil {
			return results, fmt.Errorf("%s: %w", t, err)
		}
		if isr < spec.MinInsyncReplicas {
			problems = append(problems, fmt.Sprintf("min.insync.replicas %d, want %d", isr, spec.MinInsyncReplicas))
		}
		r := Result{Topic: t, Action: OK}
		if len(problems) > 0 {
			r = Result{Topic: t, Action: Mismatch, Problems: problems}
		}
		results = append(results, r)
	}
	return results, nil
}

// minReplicas is the smallest replica count over the topic's partitions.
func minReplicas(d kadm.TopicDetail) int {
	least := -1
	for _, p := range d.Partitions {
		if least < 0 || len(p.Replicas) < least {
			least = len(p.Replicas)
		}
	}
	return max(least, 0)
}

// minInsync reads the effective min.insync.replicas of a topic; a broker that does not
// report it has Kafka's default, 1.
func minInsync(rc kadm.ResourceConfig) (int, error) {
	for _, c := range rc.Configs {
		if c.Key != "min.insync.replicas" || c.Value == nil {
			continue
		}
		n, err := strconv.Atoi(*c.Value)
		if err != nil {
			return 0, fmt.Errorf("min.insync.replicas %q: %w", *c.Value, err)
		}
		return n, nil
	}
	return 1, nil
}
