package sink

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigOrdersSink(t *testing.T) {
	cfg, err := LoadConfig("../connect/orders-sink.json")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "orders-sink" || cfg.Group != "connect-orders-sink" || !slices.Equal(cfg.Topics, []string{"orders"}) ||
		cfg.InsertMode != Upsert || cfg.PKMode != PKRecordValue || !slices.Equal(cfg.PKFields, []string{"order_id"}) ||
		cfg.Table("orders") != "orders" || cfg.AutoCreate || cfg.AutoEvolve || cfg.BatchSize != 3000 ||
		cfg.MaxRetries != 10 || cfg.RetryBackoff != 3*time.Second || !cfg.ErrorsToleranceAll ||
		cfg.DLQTopic != "orders.sink.dlq" || !cfg.DLQContextHeadersEnable || cfg.KeyConverter != StringConverter {
		t.Fatalf("config = %+v", cfg)
	}
	if u := cfg.Unknown(); len(u) != 0 {
		t.Fatalf("unknown keys %v", u)
	}
}

func TestParseConfigRefusesWhatItCannotApply(t *testing.T) {
	base := `"connector.class":"io.confluent.connect.jdbc.JdbcSinkConnector","topics":"t","value.converter":"org.apache.kafka.connect.json.JsonConverter"`
	tests := []struct {
		name, body string
		want       error
		mention    string
	}{
		{"no name", `{"config":{` + base + `}}`, ErrConfig, "name"},
		{"no config", `{"name":"x"}`, ErrConfig, "config"},
		{"other connector", `{"name":"x","config":{"connector.class":"io.debezium.connector.jdbc.JdbcSinkConnector","topics":"t"}}`, ErrUnsupported, "connector.class"},
		{"string converter value", `{"name":"x","config":{"connector.class":"io.confluent.connect.jdbc.JdbcSinkConnector","topics":"t"}}`, ErrConfig, "value.converter"},
		{"schemaless", `{"name":"x","config":{` + base + `,"value.converter.schemas.enable":"false"}}`, ErrConfig, "schemas.enable"},
		{"delete without record_key", `{"name":"x","config":{` + base + `,"delete.enabled":"true","pk.mode":"record_value"}}`, ErrConfig, "delete.enabled"},
		{"bad insert mode", `{"name":"x","config":{` + base + `,"insert.mode":"merge"}}`, ErrConfig, "insert.mode"},
		{"transforms", `{"name":"x","config":{` + base + `,"transforms":"dropTombstones"}}`, ErrUnsupported, "transforms"},
		{"no topics", `{"name":"x","config":{"connector.class":"io.confluent.connect.jdbc.JdbcSinkConnector","value.converter":"org.apache.kafka.connect.json.JsonConverter"}}`, ErrConfig, "topics"},
		{"object value", `{"name":"x","config":{` + base + `,"batch.size":{"n":1}}}`, ErrConfig, "batch.size"},
		{"bad batch size", `{"name":"x","config":{` + base + `,"batch.size":"0"}}`, ErrConfig, "batch.size"},
		{"bad quoting", `{"name":"x","config":{` + base + `,"quote.sql.identifiers":"Sometimes"}}`, ErrConfig, `quote.sql.identifiers: "Sometimes" is not always or never`},
		{"bad tolerance", `{"name":"x","config":{` + base + `,"errors.tolerance":"some"}}`, ErrConfig, `errors.tolerance: "some" is not none or all`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.body))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("ParseConfig = %v, want %v mentioning %q", err, tt.want, tt.mention)
			}
		})
	}
}

func TestParseConfigAcceptsNumbersAndBooleans(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"name":"x","config":{"connector.class":"io.confluent.connect.jdbc.JdbcSinkConnector","topics":"a, b",
		"value.converter":"org.apache.kafka.connect.json.JsonConverter","batch.size":500,"auto.create":true,"table.name.format":"kafka_${topic}"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BatchSize != 500 || !cfg.AutoCreate || !slices.Equal(cfg.Topics, []string{"a", "b"}) || cfg.Table("b") != "kafka_b" {
		t.Fatalf("config = %+v", cfg)
	}
}
