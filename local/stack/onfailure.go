package stack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/local/trigger"
)

// The on-failure destination of a trigger, as the template's DestinationConfig names it:
// kafka://TOPIC is a topic of the stack's Kafka; an SQS queue or S3 bucket, which have
// no local stand-in, becomes a JSON-lines file in the data directory.

// onFailureTopics are the topics the triggers' kafka:// destinations name.
func (r *run) onFailureTopics() []string {
	var ts []string
	for _, fn := range r.fns {
		for _, t := range fn.tf.Triggers {
			if topic, ok := strings.CutPrefix(t.Errors.OnFailure, "kafka://"); ok {
				ts = append(ts, topic)
			}
		}
	}
	return ts
}

// onFailure gives tc the hook that receives the records its trigger gives up on.
func (r *run) onFailure(ctx context.Context, tc *trigger.Config, dest string) error {
	if dest == "" {
		return nil
	}
	if topic, ok := strings.CutPrefix(dest, "kafka://"); ok {
		cl, err := r.newClient(ctx)
		if err != nil {
			return fmt.Errorf("trigger %s: on-failure destination %s: %w", tc.Name, dest, err)
		}
		r.onFailureClients = append(r.onFailureClients, cl)
		tc.Errors.OnFailure = func(ctx context.Context, rs []*kgo.Record, reason string) error {
			return toTopic(ctx, cl, topic, tc.Name, rs, reason)
		}
		return nil
	}
	file := filepath.Join(r.dataDir, "on-failure.jsonl")
	var mu sync.Mutex
	tc.Errors.OnFailure = func(_ context.Context, rs []*kgo.Record, reason string) error {
		mu.Lock()
		defer mu.Unlock()
		return toFile(file, dest, tc.Name, rs, reason)
	}
	return nil
}

// toTopic writes the records given up on to topic, each with its source and the reason
// as headers, and waits for every acknowledgement.
func toTopic(ctx context.Context, cl *kgo.Client, topic, trig string, rs []*kgo.Record, reason string) error {
	out := make([]*kgo.Record, len(rs))
	for i, r := range rs {
		hs := append(append([]kgo.RecordHeader{}, r.Headers...),
			kgo.RecordHeader{Key: "ordersync-failure-reason", Value: []byte(reason)},
			kgo.RecordHeader{Key: "ordersync-failure-trigger", Value: []byte(trig)},
			kgo.RecordHeader{Key: "ordersync-source-topic", Value: []byte(r.Topic)},
			kgo.RecordHeader{Key: "ordersync-source-partition", Value: []byte(strconv.Itoa(int(r.Partition)))},
			kgo.RecordHeader{Key: "ordersync-source-offset", Value: []byte(strconv.FormatInt(r.Offset, 10))})
		out[i] = &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: hs}
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return cl.ProduceSync(pctx, out...).FirstErr()
}

// toFile appends one JSON line per record given up on.
func toFile(file, dest, trig string, rs []*kgo.Record, reason string) error {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, r := range rs {
		err = enc.Encode(map[string]any{"destination": dest, "trigger": trig, "reason": reason,
			"topic": r.Topic, "partition": r.Partition, "offset": r.Offset,
			"key": base64.StdEncoding.EncodeToString(r.Key), "value": base64.StdEncoding.EncodeToString(r.Value)})
		if err != nil {
			break
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
