package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FrozenAfter is how long an execution environment may seem to have waited between
// init and its first invocation before a Producer assumes it was frozen (provisioned
// concurrency, a SnapStart snapshot) and that the connections it opened are dead. An
// on-demand cold start hands the first event over at once, a few milliseconds after
// init; a frozen environment waits seconds to days.
const FrozenAfter = 2 * time.Second

// warmWait bounds the warm-up. While it waits for a broker, the first request's
// produce waits with it for the producer id; the request's own deadline still ends
// that wait on time.
const warmWait = MaxProduceWait

// Producer is a client for a Lambda function's request path that connects while the
// function initialises, without making init wait:
//
//   - NewProducer checks the configuration and chooses the credential source, and
//     leaves the rest to a goroutine: building the kgo client (≈ 1 ms cold, mostly its
//     default configuration) and then what the first produce would otherwise do in
//     series: the producer id, the broker metadata, the produce connections and each
//     broker's ordinary connection, on which the topic's metadata is asked for. A
//     request that comes earlier waits for them inside its produce, under its own
//     deadline; a broker that is down delays nothing but that produce.
//   - Invoked, called at the start of every invocation, replaces the client once if
//     the first invocation came more than FrozenAfter after init: connections made
//     before a freeze may be silently dead, and a produce on one would wait for the
//     request timeout. The new client connects afresh; nothing was in flight.
//
// It has the Produce method of *kgo.Client, so handlers take it unchanged.
type Producer struct {
	opts  []kgo.Opt
	ctx   context.Context // bounds the warm-ups
	ready chan struct{}   // closed once the first client is built, or failed to be
	err   error           // why it failed; set before ready is closed
	cl    atomic.Pointer[kgo.Client]

	// FrozenAfter is the package's FrozenAfter; tests shorten it.
	FrozenAfter time.Duration

	mu      sync.Mutex
	built   time.Time // when init built the producer; zero once the first invocation came
	stop    context.CancelFunc
	warming chan struct{} // closed when the current warm-up ended
}

// NewProducer returns a Producer for cfg (see NewClient for the client's settings)
// and starts building and connecting its client. Only a bad configuration fails it; it
// never waits for the client or a broker. ctx bounds the warm-ups.
//
// Client metrics (KIP-714) are off: they cost a GetTelemetrySubscriptions round trip on
// the first connection, and a function frozen between invocations cannot push them on
// time anyway.
func NewProducer(ctx context.Context, cfg Config, opts ...kgo.Opt) (*Producer, error) {
	all, err := clientOpts(cfg, append([]kgo.Opt{kgo.DisableClientMetrics()}, opts...))
	if err != nil {
		return nil, err
	}
	p := &Producer{opts: all, ctx: ctx, ready: make(chan struct{}), FrozenAfter: FrozenAfter,
		built: time.Now(), stop: func() {}, warming: make(chan struct{})}
	go p.build()
	return p, nil
}

// build builds the first client and warms it up.
func (p *Producer) build() {
	cl, err := kgo.NewClient(p.opts...)
	if err != nil {
		p.err = fmt.Errorf("kafka client: %w", err)
		slog.Error("kafka client", slog.Any("error", err))
		close(p.ready)
		close(p.warming)
		return
	}
	p.cl.Store(cl)
	close(p.ready)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.warm(cl, p.warming)
}

// warm connects cl in the background and closes done when it has finished; p.mu is held.
func (p *Producer) warm(cl *kgo.Client, done chan struct{}) {
	ctx, cancel := context.WithTimeout(p.ctx, warmWait)
	p.stop = cancel
	go func() {
		defer close(done)
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() { cl.ProducerID(ctx) }) // the first produce waits for it
		wg.Go(func() {
			cl.EnsureProduceConnectionIsOpen(ctx) // broker metadata, then a produce connection to each
			openMetadataConnections(ctx, cl)
		})
		wg.Wait()
		// Errors are not kept: a failed step is simply redone, by kgo, on the first produce.
	}()
}

// openMetadataConnections opens cl's ordinary connection to every broker it knows of.
// The first produce to a topic asks one of them for the topic's partitions, over that
// connection: not the seed broker's, on which the broker list came, nor the produce
// one. Opened here, the first request is spared a dial and a version handshake.
func openMetadataConnections(ctx context.Context, cl *kgo.Client) {
	var wg sync.WaitGroup
	for _, b := range cl.DiscoveredBrokers() {
		wg.Go(func() {
			req := kmsg.NewPtrMetadataRequest()
			req.Topics = []kmsg.MetadataRequestTopic{} // the brokers only
			b.Request(ctx, req)
		})
	}
	wg.Wait()
}

// client returns the current client, waiting until the first one is built or ctx ends.
func (p *Producer) client(ctx context.Context) (*kgo.Client, error) {
	select {
	case <-p.ready:
	default:
		select {
		case <-p.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	return p.cl.Load(), nil
}

// Produce hands r to the current client (see kgo.Client.Produce). Before the first
// client is built it waits for it, at most until ctx ends; promise then gets ctx's
// error, or the error that kept the client from being built.
func (p *Producer) Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	cl, err := p.client(ctx)
	if err != nil {
		promise(r, err)
		return
	}
	cl.Produce(ctx, r, promise)
}

// Client returns the current client, once the first one is built; nil if it could not be.
func (p *Producer) Client() *kgo.Client {
	cl, _ := p.client(context.Background())
	return cl
}

// Warming returns a channel that is closed once the current warm-up has ended,
// whether or not it connected.
func (p *Producer) Warming() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.warming
}

// Invoked is called at the start of every invocation. On the first one, when more
// than FrozenAfter passed since init, by the monotonic or by the wall clock (a restored
// snapshot's monotonic clock may not have moved), it replaces the client with a new
// one that starts connecting at once, and closes the old one in the background. It
// reports whether it replaced the client.
func (p *Producer) Invoked() bool {
	if p.Client() == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.built.IsZero() {
		return false
	}
	built := p.built
	p.built = time.Time{}
	now := time.Now()
	wall := now.Round(0).Sub(built.Round(0))
	if now.Sub(built) <= p.FrozenAfter && wall <= p.FrozenAfter && wall >= -p.FrozenAfter {
		return false
	}
	cl, err := kgo.NewClient(p.opts...)
	if err != nil { // the same options built the first client
		return false
	}
	p.stop()
	old := p.cl.Swap(cl)
	go old.Close()
	p.warming = make(chan struct{})
	p.warm(cl, p.warming)
	return true
}

// Close stops the warm-up and closes the client.
func (p *Producer) Close() {
	cl := p.Client()
	p.mu.Lock()
	p.stop()
	p.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
}

// OnInvoke wraps a Lambda handler so that p.Invoked runs before each invocation.
func OnInvoke[Req, Resp any](p *Producer, handle func(context.Context, Req) (Resp, error)) func(context.Context, Req) (Resp, error) {
	return func(ctx context.Context, req Req) (Resp, error) {
		p.Invoked()
		return handle(ctx, req)
	}
}
