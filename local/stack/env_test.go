package stack

import (
	"slices"
	"testing"
	"time"

	"github.com/ordersync/ordersync/local/samtemplate"
	"github.com/ordersync/ordersync/shared/kafka"
)

func TestFunctionEnv(t *testing.T) {
	tmpl := map[string]string{
		"KAFKA_BROKERS":  "",
		"KAFKA_AUTH":     "msk-iam",
		"KAFKA_TLS":      "true",
		"KAFKA_USERNAME": "{{resolve:secretsmanager:x}}",
		"LOG_LEVEL":      "info",
		"CATALOG_FILE":   "",
		"ORDERS_TOPIC":   "orders",
	}
	shell := map[string]string{"LOG_LEVEL": "warn", "CATALOG_FILE": "/tmp/c.json", "UNRELATED": "x"}
	lookup := func(k string) (string, bool) { v, ok := shell[k]; return v, ok }
	got := functionEnv(tmpl, lookup, kafka.Config{Brokers: []string{"127.0.0.1:9092", "127.0.0.1:9093"}, Auth: kafka.AuthNone})
	want := []string{
		"CATALOG_FILE=/tmp/c.json",
		"KAFKA_AUTH=none",
		"KAFKA_BROKERS=127.0.0.1:9092,127.0.0.1:9093",
		"KAFKA_TLS=false",
		"LOG_LEVEL=warn",
		"ORDERS_TOPIC=orders",
	}
	if !slices.Equal(got, want) {
		t.Errorf("env\n got %q\nwant %q", got, want)
	}
}

func TestTriggerConfig(t *testing.T) {
	fn := &function{tf: samtemplate.Function{LogicalID: "ValidateOrderFunction"}, name: "validate-order"}
	kcfg := kafka.Config{Brokers: []string{"127.0.0.1:9092"}}
	msk := samtemplate.KafkaTrigger{Event: "Submitted", Kind: samtemplate.MSK, Topics: []string{"orders.submitted"},
		BatchSize: 100, BatchingWindow: time.Second, StartingPosition: "TRIM_HORIZON"}
	tc := triggerConfig(fn, msk, kcfg, "eu-west-1")
	if tc.EventSource != "aws:kafka" || tc.Group != "ordersync-local-ValidateOrderFunction-Submitted" || tc.InstanceID == "" ||
		tc.EventSourceARN == "" || tc.BootstrapServers != "127.0.0.1:9092" || tc.StartAtLatest || tc.Window != time.Second {
		t.Errorf("MSK trigger config %+v", tc)
	}
	self := msk
	self.Kind, self.ConsumerGroupID, self.StartingPosition = samtemplate.SelfManagedKafka, "g", "LATEST"
	tc = triggerConfig(fn, self, kcfg, "eu-west-1")
	if tc.EventSource != "SelfManagedKafka" || tc.Group != "g" || tc.EventSourceARN != "" || !tc.StartAtLatest {
		t.Errorf("self-managed trigger config %+v", tc)
	}
}
