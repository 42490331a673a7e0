package metrics

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// checkEMF checks doc against the Embedded Metric Format specification: an _aws object
// with an integer Timestamp in epoch ms and a CloudWatchMetrics array; each directive
// has a Namespace (1–255 chars), Dimensions (arrays of 1–30 names, each a top-level
// string member) and Metrics (1–100, each a Name with a top-level numeric member and an
// optional standard Unit).
func checkEMF(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	aws, ok := m["_aws"].(map[string]any)
	if !ok {
		t.Fatalf("no _aws object: %s", doc)
	}
	ts, ok := aws["Timestamp"].(float64)
	if !ok || ts != float64(int64(ts)) || ts < 1e12 {
		t.Fatalf("_aws.Timestamp = %v, want epoch milliseconds", aws["Timestamp"])
	}
	directives, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(directives) == 0 {
		t.Fatalf("_aws.CloudWatchMetrics = %v", aws["CloudWatchMetrics"])
	}
	units := map[string]bool{"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Count": true, "None": true, "Percent": true}
	for _, d := range directives {
		d := d.(map[string]any)
		if ns, _ := d["Namespace"].(string); ns == "" || len(ns) > 255 {
			t.Fatalf("Namespace = %v", d["Namespace"])
		}
		dims, ok := d["Dimensions"].([]any)
		if !ok {
			t.Fatalf("Dimensions = %v", d["Dimensions"])
		}
		for _, set := range dims {
			set := set.([]any)
			if len(set) == 0 || len(set) > 30 {
				t.Fatalf("dimension set of %d", len(set))
			}
			for _, name := range set {
				if _, ok := m[name.(string)].(string); !ok {
					t.Fatalf("dimension %v has no top-level string member", name)
				}
			}
		}
		metrics, ok := d["Metrics"].([]any)
		if !ok || len(metrics) == 0 || len(metrics) > 100 {
			t.Fatalf("Metrics = %v", d["Metrics"])
		}
		for _, md := range metrics {
			md := md.(map[string]any)
			name, _ := md["Name"].(string)
			if _, ok := m[name].(float64); name == "" || !ok {
				t.Fatalf("metric %q has no top-level numeric member", name)
			}
			if u, ok := md["Unit"]; ok && !units[u.(string)] {
				t.Fatalf("metric %q unit %v", name, u)
			}
		}
	}
	return m
}

func TestFlush(t *testing.T) {
	var out bytes.Buffer
	r := New("ordersync-test", `create-order "x"`, &out)
	r.Add("OrdersCreated", Count, 1)
	r.Add("ProduceLatency", Milliseconds, 2.5)
	r.Add("OrdersCreated", Count, 1)
	now := time.UnixMilli(1764547200123)
	if err := r.Flush(now); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 1 {
		t.Fatalf("%d lines, want one document: %s", n, out.String())
	}
	m := checkEMF(t, out.Bytes())
	if m["OrdersCreated"] != 2.0 || m["ProduceLatency"] != 2.5 || m["Service"] != `create-order "x"` ||
		m["_aws"].(map[string]any)["Timestamp"] != 1764547200123.0 {
		t.Fatalf("document = %v", m)
	}

	// The next invocation starts empty, and an invocation with nothing writes nothing.
	out.Reset()
	if err := r.Flush(now); err != nil || out.Len() != 0 {
		t.Fatalf("empty flush wrote %q, %v", out.String(), err)
	}
	r.Add("Refused422", Count, 1)
	r.Flush(now)
	if m := checkEMF(t, out.Bytes()); m["OrdersCreated"] != nil || m["Refused422"] != 1.0 {
		t.Fatalf("second document = %v", m)
	}
}

func TestFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	var out bytes.Buffer
	r, err := FromEnv(env(), "validate-order", &out)
	if err != nil || r == nil {
		t.Fatalf("FromEnv() = %v, %v", r, err)
	}
	r.Add("Accepted", Count, 3)
	r.Flush(time.Now())
	if m := checkEMF(t, out.Bytes()); m["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Namespace"] != DefaultNamespace {
		t.Fatalf("namespace: %v", m)
	}

	off, err := FromEnv(env("METRICS", "off"), "x", &out)
	if err != nil || off != nil {
		t.Fatalf("METRICS=off: %v, %v", off, err)
	}
	out.Reset()
	off.Add("Accepted", Count, 1) // a nil Recorder records nothing, safely
	if err := off.Flush(time.Now()); err != nil || out.Len() != 0 {
		t.Fatalf("off wrote %q", out.String())
	}
	if _, err := FromEnv(env("METRICS", "yes"), "x", &out); err == nil || !strings.Contains(err.Error(), "METRICS") {
		t.Fatalf("METRICS=yes: %v, want an error naming METRICS", err)
	}
	if _, err := FromEnv(env("METRICS_NAMESPACE", strings.Repeat("n", 256)), "x", &out); err == nil {
		t.Fatal("a 256-character namespace is accepted")
	}
}

func BenchmarkFlush(b *testing.B) {
	var out bytes.Buffer
	r := New("ordersync", "create-order", &out)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		r.Add("OrdersCreated", Count, 1)
		r.Add("ProduceLatency", Milliseconds, 1.25)
		r.Flush(now)
	}
}
