// Package kafka provides franz-go clients configured from the environment.
package kafka

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Auth modes of KAFKA_AUTH.
const (
	AuthNone   = "none"
	AuthSCRAM  = "scram-sha-512"
	AuthMSKIAM = "msk-iam"
)

// Defaults of the environment variables.
const (
	DefaultBrokers        = "127.0.0.1:9092"
	DefaultSubmittedTopic = "orders.submitted"
	DefaultOrdersTopic    = "orders"
	DefaultRejectedTopic  = "orders.rejected"
	DefaultDLQTopic       = "orders.dlq"
)

// Config says how to reach Kafka and which topics to use.
type Config struct {
	Brokers            []string // KAFKA_BROKERS, comma-separated
	Auth               string   // KAFKA_AUTH: AuthNone, AuthSCRAM or AuthMSKIAM
	TLS                bool     // KAFKA_TLS; on by default for AuthMSKIAM
	Username, Password string   // KAFKA_USERNAME, KAFKA_PASSWORD (SCRAM only)
	Topics             Topics
}

// Topics are the topic names of the pipeline.
type Topics struct {
	Submitted string // ORDERS_SUBMITTED_TOPIC: create-order writes here
	Orders    string // ORDERS_TOPIC: accepted orders; the sink reads it
	Rejected  string // ORDERS_REJECTED_TOPIC: rejected orders, with a reason
	DLQ       string // ORDERS_DLQ_TOPIC: records that could not be decoded
}

// Names returns the pipeline's topics, in pipeline order.
func (t Topics) Names() []string { return []string{t.Submitted, t.Orders, t.Rejected, t.DLQ} }

// ConfigError is a bad or missing setting. Its message is one line that starts with the
// variable's name, e.g. `KAFKA_AUTH: unknown mode "foo" (want none, scram-sha-512, msk-iam)`.
type ConfigError struct {
	Var     string // the environment variable
	Problem string
}

func (e *ConfigError) Error() string { return e.Var + ": " + e.Problem }

// ConfigFromEnv reads the configuration through getenv (os.Getenv in production) and
// applies the defaults of README.md's configuration table. An empty variable counts as
// unset. The first bad setting is returned as a *ConfigError.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var cfg Config

	brokers := getenv("KAFKA_BROKERS")
	if strings.TrimSpace(brokers) == "" {
		brokers = DefaultBrokers
	}
	for b := range strings.SplitSeq(brokers, ",") {
		b = strings.TrimSpace(b)
		if b == "" {
			return Config{}, &ConfigError{"KAFKA_BROKERS", fmt.Sprintf("empty broker in %q (want host:port[,host:port...])", brokers)}
		}
		if strings.ContainsAny(b, " \t/") || !validPort(b) {
			return Config{}, &ConfigError{"KAFKA_BROKERS", fmt.Sprintf("invalid broker %q (want host:port)", b)}
		}
		cfg.Brokers = append(cfg.Brokers, b)
	}

	cfg.Auth = strings.ToLower(strings.TrimSpace(getenv("KAFKA_AUTH")))
	switch cfg.Auth {
	case "":
		cfg.Auth = AuthNone
	case AuthNone, AuthSCRAM, AuthMSKIAM:
	default:
		return Config{}, &ConfigError{"KAFKA_AUTH", fmt.Sprintf("unknown mode %q (want none, scram-sha-512, msk-iam)", getenv("KAFKA_AUTH"))}
	}

	cfg.TLS = cfg.Auth == AuthMSKIAM
	if v := strings.TrimSpace(getenv("KAFKA_TLS")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, &ConfigError{"KAFKA_TLS", fmt.Sprintf("invalid value %q (want true or false)", v)}
		}
		if !b && cfg.Auth == AuthMSKIAM {
			return Config{}, &ConfigError{"KAFKA_TLS", "msk-iam needs TLS (unset KAFKA_TLS or set it to true)"}
		}
		cfg.TLS = b
	}

	cfg.Username, cfg.Password = getenv("KAFKA_USERNAME"), getenv("KAFKA_PASSWORD")
	if cfg.Auth == AuthSCRAM {
		if cfg.Username == "" {
			return Config{}, &ConfigError{"KAFKA_USERNAME", "required when KAFKA_AUTH is scram-sha-512"}
		}
		if cfg.Password == "" {
			return Config{}, &ConfigError{"KAFKA_PASSWORD", "required when KAFKA_AUTH is scram-sha-512"}
		}
	} else {
		if cfg.Username != "" {
			return Config{}, &ConfigError{"KAFKA_USERNAME", fmt.Sprintf("only used when KAFKA_AUTH is scram-sha-512 (it is %s)", cfg.Auth)}
		}
		if cfg.Password != "" {
			return Config{}, &ConfigError{"KAFKA_PASSWORD", fmt.Sprintf("only used when KAFKA_AUTH is scram-sha-512 (it is %s)", cfg.Auth)}
		}
	}

	for _, t := range []struct {
		dst       *string
		name, def string
	}{
		{&cfg.Topics.Submitted, "ORDERS_SUBMITTED_TOPIC", DefaultSubmittedTopic},
		{&cfg.Topics.Orders, "ORDERS_TOPIC", DefaultOrdersTopic},
		{&cfg.Topics.Rejected, "ORDERS_REJECTED_TOPIC", DefaultRejectedTopic},
		{&cfg.Topics.DLQ, "ORDERS_DLQ_TOPIC", DefaultDLQTopic},
	} {
		v := strings.TrimSpace(getenv(t.name))
		if v == "" {
			v = t.def
		}
		if !validTopic(v) {
			return Config{}, &ConfigError{t.name, fmt.Sprintf("invalid topic name %q (want 1-249 of a-z A-Z 0-9 . _ -)", v)}
		}
		*t.dst = v
	}
	return cfg, nil
}

// validPort reports whether broker's port, if it has one, is a port number (without
// one, the client dials 9092). The client is built after init has ended, so what it
// would refuse is refused here, at start-up.
func validPort(broker string) bool {
	_, port, err := net.SplitHostPort(broker)
	if err != nil {
		var addrErr *net.AddrError
		return errors.As(err, &addrErr) && addrErr.Err == "missing port in address"
	}
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && n > 0
}

// validTopic reports whether Kafka accepts name as a topic name.
func validTopic(name string) bool {
	if name == "" || len(name) > 249 || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
