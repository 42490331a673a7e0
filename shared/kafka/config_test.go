package kafka

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestConfigFromEnv(t *testing.T) {
	defaults := Topics{Submitted: "orders.submitted", Orders: "orders", Rejected: "orders.rejected", DLQ: "orders.dlq"}
	tests := []struct {
		name string
		env  map[string]string
		want Config
		err  string // the whole message of the *ConfigError
	}{
		{name: "defaults", env: nil,
			want: Config{Brokers: []string{"127.0.0.1:9092"}, Auth: "none", Topics: defaults}},
		{name: "brokers trimmed", env: map[string]string{"KAFKA_BROKERS": " b-1:9092, b-2:9092 "},
			want: Config{Brokers: []string{"b-1:9092", "b-2:9092"}, Auth: "none", Topics: defaults}},
		{name: "blank brokers use default", env: map[string]string{"KAFKA_BROKERS": "  "},
			want: Config{Brokers: []string{"127.0.0.1:9092"}, Auth: "none", Topics: defaults}},
		{name: "plaintext with tls", env: map[string]string{"KAFKA_AUTH": "none", "KAFKA_TLS": "true"},
			want: Config{Brokers: []string{"127.0.0.1:9092"}, Auth: "none", TLS: true, Topics: defaults}},
		{name: "scram", env: map[string]string{"KAFKA_AUTH": "scram-sha-512", "KAFKA_USERNAME": "u", "KAFKA_PASSWORD": "p", "KAFKA_TLS": "1"},
			want: Config{Brokers: []string{"127.0.0.1:9092"}, Auth: "scram-sha-512", TLS: true, Username: "u", Password: "p", Topics: defaults}},
		{name: "auth case-insensitive", env: map[string]string{"KAFKA_AUTH": "SCRAM-SHA-512", "KAFKA_USERNAME": "u", "KAFKA_PASSWORD": "p"},
			want: Config{Brokers: []string{"127.0.0.1:9092"}, Auth: "scram-sha-512", Username: "u", Password: "p", Topics: defaults}},
		{name: "msk-iam turns tls on", env: map[string]string{"KAFKA_AUTH": "msk-iam", "KAFKA_BROKERS": "b-1.msk:9098"},
			want: Config{Brokers: []string{"b-1.msk:9098"}, Auth: "msk-iam", TLS: true, Topics: defaults}},
		{name: "msk-iam with tls true", env: map[string]string{"KAFKA_AUTH": "msk-iam", "KAFKA_TLS": "true"},
			want: Config{Brokers: []string{"127.0.0.1:9092"}, Auth: "msk-iam", TLS: true, Topics: defaults}},
		{name: "topics", env: map[string]string{"ORDERS_SUBMITTED_TOPIC": "t1", "ORDERS_TOPIC": "t.2", "ORDERS_REJECTED_TOPIC": "t_3", "ORDERS_DLQ_TOPIC": "T-4"},
			want: Config{Brokers: []string{"127.0.0.1:9092"}, Auth: "none", Topics: Topics{"t1", "t.2", "t_3", "T-4"}}},

		{name: "unknown auth", env: map[string]string{"KAFKA_AUTH": "foo"},
			err: `KAFKA_AUTH: unknown mode "foo" (want none, scram-sha-512, msk-iam)`},
		{name: "scram-sha-256 is not offered", env: map[string]string{"KAFKA_AUTH": "scram-sha-256"},
			err: `KAFKA_AUTH: unknown mode "scram-sha-256" (want none, scram-sha-512, msk-iam)`},
		{name: "empty broker list", env: map[string]string{"KAFKA_BROKERS": ","},
			err: `KAFKA_BROKERS: empty broker in "," (want host:port[,host:port...])`},
		{name: "empty broker entry", env: map[string]string{"KAFKA_BROKERS": "a:1,,b:2"},
			err: `KAFKA_BROKERS: empty broker in "a:1,,b:2" (want host:port[,host:port...])`},
		{name: "broker url", env: map[string]string{"KAFKA_BROKERS": "kafka://a:1"},
			err: `KAFKA_BROKERS: invalid broker "kafka://a:1" (want host:port)`},
		{name: "broker port not a number", env: map[string]string{"KAFKA_BROKERS": "a:9092,b:90x2"},
			err: `KAFKA_BROKERS: invalid broker "b:90x2" (want host:port)`},
		{name: "broker port out of range", env: map[string]string{"KAFKA_BROKERS": "a:65536"},
			err: `KAFKA_BROKERS: invalid broker "a:65536" (want host:port)`},
		{name: "unbracketed ipv6", env: map[string]string{"KAFKA_BROKERS": "::1:9092"},
			err: `KAFKA_BROKERS: invalid broker "::1:9092" (want host:port)`},
		{name: "bad tls", env: map[string]string{"KAFKA_TLS": "maybe"},
			err: `KAFKA_TLS: invalid value "maybe" (want true or false)`},
		{name: "msk-iam without tls", env: map[string]string{"KAFKA_AUTH": "msk-iam", "KAFKA_TLS": "false"},
			err: `KAFKA_TLS: msk-iam needs TLS (unset KAFKA_TLS or set it to true)`},
		{name: "scram without user", env: map[string]string{"KAFKA_AUTH": "scram-sha-512", "KAFKA_PASSWORD": "p"},
			err: `KAFKA_USERNAME: required when KAFKA_AUTH is scram-sha-512`},
		{name: "scram without password", env: map[string]string{"KAFKA_AUTH": "scram-sha-512", "KAFKA_USERNAME": "u"},
			err: `KAFKA_PASSWORD: required when KAFKA_AUTH is scram-sha-512`},
		{name: "username without scram", env: map[string]string{"KAFKA_USERNAME": "u"},
			err: `KAFKA_USERNAME: only used when KAFKA_AUTH is scram-sha-512 (it is none)`},
		{name: "password with msk-iam", env: map[string]string{"KAFKA_AUTH": "msk-iam", "KAFKA_PASSWORD": "p"},
			err: `KAFKA_PASSWORD: only used when KAFKA_AUTH is scram-sha-512 (it is msk-iam)`},
		{name: "bad topic", env: map[string]string{"ORDERS_TOPIC": "my orders"},
			err: `ORDERS_TOPIC: invalid topic name "my orders" (want 1-249 of a-z A-Z 0-9 . _ -)`},
		{name: "dot topic", env: map[string]string{"ORDERS_DLQ_TOPIC": ".."},
			err: `ORDERS_DLQ_TOPIC: invalid topic name ".." (want 1-249 of a-z A-Z 0-9 . _ -)`},
		{name: "long topic", env: map[string]string{"ORDERS_SUBMITTED_TOPIC": strings.Repeat("t", 250)},
			err: `ORDERS_SUBMITTED_TOPIC: invalid topic name "` + strings.Repeat("t", 250) + `" (want 1-249 of a-z A-Z 0-9 . _ -)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				var ce *ConfigError
				if !errors.As(err, &ce) || err.Error() != tt.err {
					t.Fatalf("error = %v, want *ConfigError %q", err, tt.err)
				}
				if strings.Contains(tt.err, "\n") || !strings.HasPrefix(tt.err, ce.Var+": ") {
					t.Fatalf("message %q is not one line naming %s", tt.err, ce.Var)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config = %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}
