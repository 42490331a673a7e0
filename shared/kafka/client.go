package kafka

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kslog"
)

// Produce deadlines on a request path (see ProduceContext).
const (
	// ProduceMargin is kept free before the Lambda deadline, so that a function whose
	// record was not acknowledged still has time to answer 503 before Lambda stops it.
	ProduceMargin = 500 * time.Millisecond
	// MaxProduceWait bounds a produce when the invocation has more time than that (and
	// when the context has no deadline at all): a client is better served by a 503 with
	// Retry-After than by waiting for API Gateway's own 30 s timeout.
	MaxProduceWait = 10 * time.Second
)

// NewClient returns a client for cfg, built for a request path: every record is
// acknowledged by all in-sync replicas, produced idempotently and sent at once (no
// linger). A record still in flight when its context ends is failed rather than waited
// for (kgo.AllowIdempotentProduceCancellation), so a caller can answer before its own
// deadline; the record may still land, which is harmless because order ids are
// deterministic and every consumer upserts by id. franz-go's own logs go to
// slog.Default() at warn level and above. opts are appended, so they can add consumer
// settings or override these.
//
// In msk-iam mode the credential source is chosen once, here, from the environment (see
// credentials.go for the chain); each SASL handshake then only asks its cache, which
// refreshes credentials before they expire. NewClient does not connect: brokers are
// dialled on first use (or by a Producer's warm-up).
func NewClient(ctx context.Context, cfg Config, opts ...kgo.Opt) (*kgo.Client, error) {
	all, err := clientOpts(cfg, opts)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(all...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return cl, nil
}

// ProducerFromEnv is the Kafka part of a producing function's init: the configuration
// ConfigFromEnv reads through getenv, and a Producer for it (NewProducer), which starts
// connecting in the background, so init does not wait for a broker. It fails, starting
// nothing, on the first bad setting.
func ProducerFromEnv(ctx context.Context, getenv func(string) string) (*Producer, Config, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, Config{}, err
	}
	p, err := NewProducer(ctx, cfg)
	if err != nil {
		return nil, Config{}, err
	}
	return p, cfg, nil
}

// clientOpts returns NewClient's options for cfg, followed by opts.
func clientOpts(cfg Config, opts []kgo.Opt) ([]kgo.Opt, error) {
	base := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID("ordersync"),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.AllowIdempotentProduceCancellation(),
		kgo.WithLogger(kslog.New(slog.New(atLeast{slog.Default().Handler(), slog.LevelWarn}))),
	}
	if cfg.TLS {
		base = append(base, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	mech, err := mechanism(cfg)
	if err != nil {
		return nil, err
	}
	if mech != nil {
		base = append(base, kgo.SASL(mech))
	}
	return append(base, opts...), nil
}

// mechanism returns the SASL mechanism of cfg.Auth, or nil for AuthNone.
func mechanism(cfg Config) (sasl.Mechanism, error) {
	switch cfg.Auth {
	case AuthNone, "":
		return nil, nil
	case AuthSCRAM:
		return scram.Auth{User: cfg.Username, Pass: cfg.Password}.AsSha512Mechanism(), nil
	case AuthMSKIAM:
		src, err := credentialsFromEnv(os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("msk-iam: %w", err)
		}
		return aws.ManagedStreamingIAM(func(ctx context.Context) (aws.Auth, error) {
			c, err := src.Provider.Retrieve(ctx)
			if err != nil {
				return aws.Auth{}, fmt.Errorf("retrieve aws credentials (%s): %w", src.Name, err)
			}
			return aws.Auth{AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
		}), nil
	}
	return nil, &ConfigError{"KAFKA_AUTH", fmt.Sprintf("unknown mode %q (want none, scram-sha-512, msk-iam)", cfg.Auth)}
}

// ProduceContext returns the context to produce one request's records with: it ends
// ProduceMargin before ctx's deadline (the Lambda deadline), and no later than
// MaxProduceWait from now.
func ProduceContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := time.Now().Add(MaxProduceWait)
	if dl, ok := ctx.Deadline(); ok {
		if m := dl.Add(-ProduceMargin); m.Before(d) {
			d = m
		}
	}
	return context.WithDeadline(ctx, d)
}

// atLeast is a slog.Handler that drops records below min.
type atLeast struct {
	slog.Handler
	min slog.Level
}

func (h atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h atLeast) WithAttrs(as []slog.Attr) slog.Handler {
	return atLeast{h.Handler.WithAttrs(as), h.min}
}

func (h atLeast) WithGroup(name string) slog.Handler {
	return atLeast{h.Handler.WithGroup(name), h.min}
}
