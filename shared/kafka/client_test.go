package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
)

// cluster starts a kfake cluster with one topic named after the test.
func cluster(t *testing.T, opts ...kfake.Opt) (*kfake.Cluster, string) {
	t.Helper()
	topic := "kafka-test." + strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(1, topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, topic
}

func clusterConfig(c *kfake.Cluster, auth string) Config {
	cfg, _ := ConfigFromEnv(func(string) string { return "" })
	cfg.Brokers, cfg.Auth = c.ListenAddrs(), auth
	return cfg
}

// newClient builds a client of cfg (and opts), closed when the test ends.
func newClient(t *testing.T, cfg Config, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := NewClient(t.Context(), cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func produce(t *testing.T, cl *kgo.Client, topic string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("v")}).FirstErr()
}

func TestClientSettings(t *testing.T) {
	c, _ := cluster(t)
	cl := newClient(t, clusterConfig(c, AuthNone))
	if got := cl.OptValue(kgo.RequiredAcks); got != kgo.AllISRAcks() {
		t.Errorf("RequiredAcks = %v, want all ISR", got)
	}
	if got := cl.OptValue(kgo.ProducerLinger); got != time.Duration(0) {
		t.Errorf("ProducerLinger = %v, want 0", got)
	}
	if got := cl.OptValue(kgo.DisableIdempotentWrite); got != false {
		t.Errorf("DisableIdempotentWrite = %v, want false (idempotent)", got)
	}
	if got := cl.OptValue(kgo.AllowIdempotentProduceCancellation); got != true {
		t.Errorf("AllowIdempotentProduceCancellation = %v, want true", got)
	}
	if got := cl.OptValue(kgo.DialTLSConfig); got != (*tls.Config)(nil) {
		t.Errorf("DialTLSConfig = %v, want none", got)
	}
}

func TestPlaintext(t *testing.T) {
	c, topic := cluster(t)
	if err := produce(t, newClient(t, clusterConfig(c, AuthNone)), topic); err != nil {
		t.Fatal(err)
	}
}

func TestSCRAM(t *testing.T) {
	c, topic := cluster(t,
		kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-512", "admin", "admin-secret"),
		kfake.User("SCRAM-SHA-512", "orders", "orders-secret"),
	)
	t.Run("right password", func(t *testing.T) {
		cfg := clusterConfig(c, AuthSCRAM)
		cfg.Username, cfg.Password = "orders", "orders-secret"
		cl := newClient(t, cfg)
		if m, ok := cl.OptValue(kgo.SASL).([]sasl.Mechanism); !ok || len(m) != 1 || m[0].Name() != "SCRAM-SHA-512" {
			t.Fatalf("SASL = %v, want SCRAM-SHA-512", cl.OptValue(kgo.SASL))
		}
		if err := produce(t, cl, topic); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		cfg := clusterConfig(c, AuthSCRAM)
		cfg.Username, cfg.Password = "orders", "wrong"
		if err := ping(t, cfg); err == nil {
			t.Fatal("ping with a wrong password succeeded")
		}
	})
	t.Run("no sasl", func(t *testing.T) {
		if err := ping(t, clusterConfig(c, AuthNone)); err == nil {
			t.Fatal("ping without SASL to a SASL cluster succeeded")
		}
	})
}

// ping builds a client of cfg and pings the cluster with it, for at most 5s.
func ping(t *testing.T, cfg Config) error {
	t.Helper()
	cl := newClient(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return cl.Ping(ctx)
}

func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	c, topic := cluster(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	cfg := clusterConfig(c, AuthNone)
	cfg.TLS = true

	t.Run("trusted", func(t *testing.T) {
		// Only the roots change; that TLS is on at all comes from cfg.TLS (see "untrusted").
		cl := newClient(t, cfg, kgo.DialTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
		if err := produce(t, cl, topic); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		err := ping(t, cfg)
		if _, ok := errors.AsType[*tls.CertificateVerificationError](err); !ok {
			t.Fatalf("ping = %v, want a certificate verification error (the client speaks TLS, the cert is unknown)", err)
		}
	})
	t.Run("plaintext to a TLS listener", func(t *testing.T) {
		plain := cfg
		plain.TLS = false
		if err := ping(t, plain); err == nil {
			t.Fatal("plaintext ping to a TLS listener succeeded")
		}
	})
}

// TestMSKIAM builds an msk-iam client from the AWS default chain (environment
// credentials here) and runs the SASL mechanism's first step, which signs a request
// with those credentials. Nothing talks to AWS.
func TestMSKIAM(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_SESSION_TOKEN", "session-token")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")

	cfg, err := ConfigFromEnv(func(k string) string {
		return map[string]string{"KAFKA_AUTH": "msk-iam", "KAFKA_BROKERS": "b-1.orders.abc123.c2.kafka.eu-west-1.amazonaws.com:9098"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, cfg)
	if tc, ok := cl.OptValue(kgo.DialTLSConfig).(*tls.Config); !ok || tc == nil {
		t.Fatalf("msk-iam client has no TLS config: %v", cl.OptValue(kgo.DialTLSConfig))
	}
	mechs, ok := cl.OptValue(kgo.SASL).([]sasl.Mechanism)
	if !ok || len(mechs) != 1 || mechs[0].Name() != "AWS_MSK_IAM" {
		t.Fatalf("SASL = %v, want AWS_MSK_IAM", cl.OptValue(kgo.SASL))
	}

	_, first, err := mechs[0].Authenticate(t.Context(), cfg.Brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	var msg map[string]string
	if err := json.Unmarshal(first, &msg); err != nil {
		t.Fatalf("first message %q: %v", first, err)
	}
	if msg["action"] != "kafka-cluster:Connect" || !strings.HasPrefix(msg["x-amz-credential"], "AKIDEXAMPLE/") ||
		!strings.Contains(msg["x-amz-credential"], "/eu-west-1/kafka-cluster/") || msg["x-amz-security-token"] != "session-token" {
		t.Fatalf("first message does not carry the environment's credentials: %s", first)
	}
}

func TestProduceContext(t *testing.T) {
	t.Run("lambda deadline", func(t *testing.T) {
		deadline := time.Now().Add(3 * time.Second)
		ctx, cancel := context.WithDeadline(t.Context(), deadline)
		defer cancel()
		pctx, pcancel := ProduceContext(ctx)
		defer pcancel()
		if got, _ := pctx.Deadline(); !got.Equal(deadline.Add(-ProduceMargin)) {
			t.Errorf("deadline = %v, want %v", got, deadline.Add(-ProduceMargin))
		}
	})
	t.Run("far deadline is capped", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(time.Hour))
		defer cancel()
		before := time.Now()
		pctx, pcancel := ProduceContext(ctx)
		defer pcancel()
		if got, _ := pctx.Deadline(); got.Before(before.Add(MaxProduceWait)) || got.After(time.Now().Add(MaxProduceWait)) {
			t.Errorf("deadline = %v, want now + %v", got, MaxProduceWait)
		}
	})
	t.Run("no deadline", func(t *testing.T) {
		pctx, pcancel := ProduceContext(context.Background())
		defer pcancel()
		if _, ok := pctx.Deadline(); !ok {
			t.Error("no deadline")
		}
	})
	t.Run("deadline inside the margin", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(ProduceMargin/2))
		defer cancel()
		pctx, pcancel := ProduceContext(ctx)
		defer pcancel()
		if pctx.Err() == nil {
			t.Error("produce context alive although the margin is already used up")
		}
	})
}

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kfake"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
