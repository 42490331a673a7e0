// Package metrics provides CloudWatch Embedded Metric Format (EMF) documents: JSON lines
// on stdout that CloudWatch Logs turns into metrics, with no agent and no API call.
//
// A Recorder collects one invocation's values and Flush writes them as one document,
// before the function answers; values are never written one per record. The format is
// the one AWS specifies for EMF (_aws.Timestamp, _aws.CloudWatchMetrics with Namespace,
// Dimensions and Metrics, and each metric's value as a top-level member).
package metrics

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/ordersync/ordersync/shared/envelope"
)

// Units used by ordersync's metrics (CloudWatch StandardUnit names).
const (
	Count        = "Count"
	Milliseconds = "Milliseconds"
)

// Defaults and names of the environment variables.
const (
	EnvNamespace     = "METRICS_NAMESPACE"
	EnvMetrics       = "METRICS"
	DefaultNamespace = "ordersync"
	// ServiceDimension is the one dimension of every metric: the function or component.
	ServiceDimension = "Service"
)

// Recorder accumulates the metrics of one invocation. A nil *Recorder, or one built with
// METRICS=off, records nothing; its methods are safe to call.
type Recorder struct {
	w      io.Writer
	prefix []byte // {"_aws":{"Timestamp":

	mu     sync.Mutex
	names  []string
	units  []string
	values []float64
	buf    []byte
}

// FromEnv returns a Recorder for service writing to w, configured by getenv:
// METRICS_NAMESPACE (default ordersync) and METRICS (on by default; "off" turns it off).
func FromEnv(getenv func(string) string, service string, w io.Writer) (*Recorder, error) {
	switch v := getenv(EnvMetrics); v {
	case "", "on":
	case "off":
		return nil, nil
	default:
		return nil, fmt.Errorf("%s: %q is not on or off", EnvMetrics, v)
	}
	ns := getenv(EnvNamespace)
	if ns == "" {
		ns = DefaultNamespace
	}
	if len(ns) > 255 {
		return nil, fmt.Errorf("%s: longer than 255 characters", EnvNamespace)
	}
	return New(ns, service, w), nil
}

// New returns a Recorder for service in namespace, writing to w.
func New(namespace, service string, w io.Writer) *Recorder {
	r := &Recorder{w: w}
	r.prefix = append(r.prefix, `{"`+ServiceDimension+`":`...)
	r.prefix = envelope.AppendString(r.prefix, service)
	r.prefix = append(r.prefix, `,"_aws":{"CloudWatchMetrics":[{"Namespace":`...)
	r.prefix = envelope.AppendString(r.prefix, namespace)
	r.prefix = append(r.prefix, `,"Dimensions":[["`+ServiceDimension+`"]],"Metrics":[`...)
	return r
}

// Add adds v to the metric name (in unit) of the current invocation.
func (r *Recorder) Add(name, unit string, v float64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, n := range r.names {
		if n == name {
			r.values[i] += v
			return
		}
	}
	r.names = append(r.names, name)
	r.units = append(r.units, unit)
	r.values = append(r.values, v)
}

// Since adds the milliseconds since start to the metric name.
func (r *Recorder) Since(name string, start time.Time) {
	if r == nil {
		return
	}
	r.Add(name, Milliseconds, float64(time.Since(start).Microseconds())/1000)
}

// Flush writes the invocation's metrics as one EMF document stamped now, then starts
// a new invocation. It writes nothing when nothing was recorded.
func (r *Recorder) Flush(now time.Time) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.names) == 0 {
		return nil
	}
	b := append(r.buf[:0], r.prefix...)
	for i, n := range r.names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Name":`...)
		b = envelope.AppendString(b, n)
		b = append(b, `,"Unit":"`...)
		b = append(b, r.units[i]...)
		b = append(b, `"}`...)
	}
	b = append(b, `]}],"Timestamp":`...)
	b = strconv.AppendInt(b, now.UnixMilli(), 10)
	b = append(b, '}')
	for i, n := range r.names {
		b = append(b, ',')
		b = envelope.AppendString(b, n)
		b = append(b, ':')
		b = strconv.AppendFloat(b, r.values[i], 'g', -1, 64)
	}
	b = append(b, '}', '\n')
	r.buf = b
	r.names, r.units, r.values = r.names[:0], r.units[:0], r.values[:0]
	_, err := r.w.Write(b)
	return err
}
