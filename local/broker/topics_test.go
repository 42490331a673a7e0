package broker_test

import (
	"slices"
	"testing"

	"github.com/ordersync/ordersync/local/broker"
	"github.com/ordersync/ordersync/shared/kafka"
	"github.com/ordersync/ordersync/sink"
)

// pipelineTopics are the topics of the default configuration.
var pipelineTopics = broker.Topics(defaultTopics(), "orders.sink.dlq", "orders.rejected.sink.dlq")

func defaultTopics() kafka.Topics {
	cfg, err := kafka.ConfigFromEnv(func(string) string { return "" })
	if err != nil {
		panic(err)
	}
	return cfg.Topics
}

// The broker's topics are shared/kafka's plus what the connector files name, so a
// dead-letter queue added to a connector file is created too.
func TestTopics(t *testing.T) {
	var extra []string
	for _, f := range []string{"../../connect/orders-sink.json", "../../connect/order-rejections-sink.json"} {
		cfg, err := sink.LoadConfig(f)
		if err != nil {
			t.Fatal(err)
		}
		extra = append(extra, cfg.Topics...)
		extra = append(extra, cfg.DLQTopic)
	}
	got := broker.Topics(defaultTopics(), extra...)
	want := []string{"orders.submitted", "orders", "orders.rejected", "orders.dlq", "orders.sink.dlq", "orders.rejected.sink.dlq"}
	if !slices.Equal(got, want) {
		t.Errorf("Topics = %v, want %v", got, want)
	}
	custom := defaultTopics()
	custom.Orders = "o2"
	if got := broker.Topics(custom, "", "o2"); !slices.Contains(got, "o2") || slices.Contains(got, "orders") || slices.Contains(got, "") {
		t.Errorf("Topics with ORDERS_TOPIC=o2 = %v", got)
	}
}
