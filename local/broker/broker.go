// Package broker provides the local stack's Kafka: an embedded kfake cluster that keeps its
// data on disk, and topic creation for it or for a Kafka the user brings.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/shared/kafka"
)

// Topics lists the topics the pipeline uses, in the order they are shown to people: the
// functions' four (shared/kafka's names, from the environment) and then extra, the
// sinks' topics and dead-letter queues; each once, empty names left out.
func Topics(t kafka.Topics, extra ...string) []string {
	var out []string
	for _, name := range append([]string{t.Submitted, t.Orders, t.Rejected, t.DLQ}, extra...) {
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// Config describes an embedded broker.
type Config struct {
	// Addr is where to listen, e.g. 127.0.0.1:9092 (port 0 picks one).
	Addr string
	// Advertise, when set, makes the broker listen on all interfaces on Addr's port and
	// name this host:port in metadata, so clients elsewhere (a container) can reach it.
	Advertise string
	// DataDir keeps topics, records and committed offsets across restarts; empty keeps
	// everything in memory.
	DataDir string
	// SyncWrites fsyncs every write; without it a process crash loses nothing (the OS
	// holds the pages), only a machine crash may.
	SyncWrites bool
	// Partitions per created topic.
	Partitions int
	// Topics to create when missing.
	Topics []string
	// Log receives the broker's warnings and errors; nil drops them.
	Log *slog.Logger
}

// Broker is a running embedded cluster of one node.
type Broker struct {
	c     *kfake.Cluster
	addrs []string
}

// Start starts the broker and creates the missing topics.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("kafka address %q: %w", cfg.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("kafka address %q: bad port", cfg.Addr)
	}
	if cfg.Partitions < 1 {
		cfg.Partitions = 1
	}
	var real string // the listener's own address, where this process dials
	listen := func(network, _ string) (net.Listener, error) {
		// kfake asks for 127.0.0.1:<port>; honour the configured host instead.
		ln, err := net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			real = ln.Addr().String()
		}
		return ln, err
	}
	if cfg.Advertise != "" {
		if _, _, err := net.SplitHostPort(cfg.Advertise); err != nil {
			return nil, fmt.Errorf("advertised address %q: %w", cfg.Advertise, err)
		}
		listen = func(network, _ string) (net.Listener, error) {
			ln, err := net.Listen(network, net.JoinHostPort("", strconv.Itoa(port)))
			if err != nil {
				return nil, err
			}
			_, p, _ := net.SplitHostPort(ln.Addr().String())
			real = net.JoinHostPort("127.0.0.1", p)
			return &advertised{Listener: ln, addr: hostPort(cfg.Advertise)}, nil
		}
	}
	opts := []kfake.Opt{
		kfake.Ports(port),
		kfake.ListenFn(listen),
		kfake.ClusterID("ordersync-local"),
		kfake.DefaultNumPartitions(cfg.Partitions),
		kfake.SeedTopics(int32(cfg.Partitions), cfg.Topics...),
		// Lambda's event source and the sink use short sessions; let them.
		kfake.GroupMinSessionTimeout(time.Second),
	}
	if cfg.Log != nil {
		opts = append(opts, kfake.WithLogger(logger{cfg.Log}))
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
		if cfg.SyncWrites {
			opts = append(opts, kfake.SyncWrites())
		}
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start kafka on %s: %w", cfg.Addr, err)
	}
	b := &Broker{c: c, addrs: c.ListenAddrs()}
	// Seeded topics are only created on a fresh data directory; a kept one may predate
	// a topic, so create what is missing either way.
	// The advertised address may not resolve here: dial the listener itself.
	var d net.Dialer
	cl, err := kgo.NewClient(kgo.SeedBrokers(real), kgo.Dialer(func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, real)
	}))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	if err := EnsureTopics(ctx, cl, cfg.Partitions, cfg.Topics...); err != nil {
		c.Close()
		return nil, err
	}
	return b, nil
}

// Addrs are the addresses the broker advertises.
func (b *Broker) Addrs() []string { return b.addrs }

// Close stops the broker, writing its state to the data directory.
func (b *Broker) Close() { b.c.Close() }

// EnsureTopics creates the topics that do not exist yet; existing ones are left as they
// are. The replication factor is the broker's default.
func EnsureTopics(ctx context.Context, cl *kgo.Client, partitions int, topics ...string) error {
	adm := kadm.NewClient(cl)
	resps, err := adm.CreateTopics(ctx, int32(partitions), -1, nil, topics...)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for _, r := range resps.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// advertised is a listener whose Addr is the address to advertise, which is what kfake
// puts in metadata.
type advertised struct {
	net.Listener
	addr net.Addr
}

func (a *advertised) Addr() net.Addr { return a.addr }

type hostPort string

func (h hostPort) Network() string { return "tcp" }
func (h hostPort) String() string  { return string(h) }

// logger hands kfake's warnings and errors to a slog.Logger.
type logger struct{ log *slog.Logger }

func (l logger) Logf(level kfake.LogLevel, format string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		l.log.Error(fmt.Sprintf(format, args...))
	case kfake.LogLevelWarn:
		l.log.Warn(fmt.Sprintf(format, args...))
	}
}
