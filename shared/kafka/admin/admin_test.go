package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

var pipeline = []string{"orders.submitted", "orders", "orders.rejected", "orders.dlq"}

// cluster starts a kfake cluster of n brokers and returns a client for it.
func cluster(t *testing.T, n int) *kgo.Client {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(n))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// fresh returns an admin client that sees the cluster as it is now.
func fresh(cl *kgo.Client, topics ...string) *kadm.Client {
	cl.PurgeTopicsFromClient(topics...)
	return kadm.NewClient(cl)
}

func actions(rs []Result) string {
	var out []string
	for _, r := range rs {
		s := r.Topic + " " + r.Action
		if len(r.Problems) > 0 {
			s += " (" + strings.Join(r.Problems, "; ") + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

func each(topics []string, action string) string {
	var out []string
	for _, t := range slices.Sorted(slices.Values(topics)) {
		out = append(out, t+" "+action)
	}
	return strings.Join(out, ", ")
}

// ensurePipeline runs Ensure over the pipeline with the default spec and checks that
// every topic got action; run names the run in failures.
func ensurePipeline(t *testing.T, cl *kgo.Client, dryRun bool, run, action string) {
	t.Helper()
	rs, err := Ensure(context.Background(), cl, pipeline, Default, dryRun)
	if err != nil {
		t.Fatalf("%s: %v", run, err)
	}
	if got, want := actions(rs), each(pipeline, action); got != want {
		t.Fatalf("%s: %s, want %s", run, got, want)
	}
}

// TestEnsureCreatesThenIsANoOp: on a three-broker cluster the topics are created with
// replication factor 3 and min.insync.replicas 2; a second run changes nothing.
func TestEnsureCreatesThenIsANoOp(t *testing.T) {
	ctx := context.Background()
	cl := cluster(t, 3)
	ensurePipeline(t, cl, false, "first run", Created)
	adm := fresh(cl, pipeline...)
	details, err := adm.ListTopics(ctx, pipeline...)
	if err != nil {
		t.Fatal(err)
	}
	configs, err := adm.DescribeTopicConfigs(ctx, pipeline...)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range pipeline {
		d := details[topic]
		if len(d.Partitions) != 3 || minReplicas(d) != 3 {
			t.Errorf("%s: %d partitions, replication factor %d; want 3 and 3", topic, len(d.Partitions), minReplicas(d))
		}
		rc, err := configs.On(topic, nil)
		if err != nil {
			t.Fatal(err)
		}
		if isr, err := minInsync(rc); err != nil || isr != 2 {
			t.Errorf("%s: min.insync.replicas %d (%v), want 2", topic, isr, err)
		}
	}
	ensurePipeline(t, cl, false, "second run", OK)
}

// TestEnsureReportsWeakTopics: an existing topic with too small a replication factor, too
// few partitions and the default min.insync.replicas is reported, and left as it is.
func TestEnsureReportsWeakTopics(t *testing.T) {
	ctx := context.Background()
	cl := cluster(t, 3)
	if _, err := kadm.NewClient(cl).CreateTopics(ctx, 1, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	rs, err := Ensure(ctx, cl, pipeline, Default, false)
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("err = %v, want ErrMismatch", err)
	}
	want := "orders mismatch (1 partitions, want at least 3; replication factor 1, want 3; min.insync.replicas 1, want 2), " +
		"orders.dlq created, orders.rejected created, orders.submitted created"
	if got := actions(rs); got != want {
		t.Fatalf("results:\n got %s\nwant %s", got, want)
	}
	d, err := fresh(cl, "orders").ListTopics(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if rf := minReplicas(d["orders"]); rf != 1 || len(d["orders"].Partitions) != 1 {
		t.Errorf("orders was changed: %d partitions, replication factor %d", len(d["orders"].Partitions), rf)
	}
}

// TestEnsureDryRunCreatesNothing: --dry-run reports what it would create and creates nothing.
func TestEnsureDryRunCreatesNothing(t *testing.T) {
	ctx := context.Background()
	cl := cluster(t, 3)
	ensurePipeline(t, cl, true, "dry run", WouldCreate)
	details, err := fresh(cl, pipeline...).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names := details.Names(); len(names) != 0 {
		t.Errorf("dry run created %v", names)
	}
}

// TestEnsureRefuses: a spec that cannot be durable, and a replication factor the cluster
// cannot place (a two-broker cluster asked for 3), are errors, not partial successes.
func TestEnsureRefuses(t *testing.T) {
	ctx := context.Background()
	for _, spec := range []Spec{
		{Partitions: 3, ReplicationFactor: 2, MinInsyncReplicas: 3},
		{Partitions: 0, ReplicationFactor: 3, MinInsyncReplicas: 2},
		{Partitions: 3, ReplicationFactor: 0, MinInsyncReplicas: 1},
		{Partitions: 3, ReplicationFactor: 3, MinInsyncReplicas: 0},
	} {
		t.Run(fmt.Sprint(spec), func(t *testing.T) {
			if _, err := Ensure(ctx, nil, pipeline, spec, false); !errors.Is(err, ErrSpec) {
				t.Errorf("err = %v, want ErrSpec", err)
			}
		})
	}
	t.Run("replication factor above the broker count", func(t *testing.T) {
		_, err := Ensure(ctx, cluster(t, 2), pipeline, Default, false)
		if err == nil || !strings.Contains(err.Error(), "replication factor 3") {
			t.Errorf("err = %v, want a create error naming replication factor 3", err)
		}
	})
}
