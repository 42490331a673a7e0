package trace

import (
	"context"
	"testing"
)

func TestParseXRay(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
		sampled  bool
	}{
		{"lambda form", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", true, true},
		{"fields in another order, unsampled", "Parent=53995c3f42cd8ad8;Sampled=0;Root=1-5759e988-bd862e3fe1be46a994272793", true, false},
		{"lineage field ignored", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1", true, true},
		{"no parent", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", false, false},
		{"short root", "Root=1-5759e988-bd86;Parent=53995c3f42cd8ad8", false, false},
		{"version 2", "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8", false, false},
		{"not hex", "Root=1-5759e988-bd862e3fe1be46a99427279z;Parent=53995c3f42cd8ad8", false, false},
		{"empty", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := ParseXRay(tc.in)
			if ok != tc.ok || (ok && c.Sampled != tc.sampled) {
				t.Fatalf("ParseXRay = %+v, %v; want ok %v sampled %v", c, ok, tc.ok, tc.sampled)
			}
		})
	}
}

func TestParseTraceparent(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"W3C example", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
		{"later version with more fields", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", true},
		{"version 00 with more fields", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", false},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
		{"zero parent id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false},
		{"short", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", false},
		{"not hex", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := ParseTraceparent(tc.in); ok != tc.ok {
				t.Fatalf("ParseTraceparent(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			}
		})
	}
}

// The two forms carry the same 128-bit trace id, so each converts into the other and back.
func TestRoundTrip(t *testing.T) {
	const xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	c, ok := ParseXRay(xray)
	if !ok {
		t.Fatal("ParseXRay failed")
	}
	tp := c.Traceparent()
	if tp != "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01" {
		t.Fatalf("Traceparent = %s", tp)
	}
	back, ok := ParseTraceparent(tp)
	if !ok || back != c || back.XRay() != xray {
		t.Fatalf("round trip: %+v %v, XRay %s", back, ok, back.XRay())
	}
}

func TestFromLambda(t *testing.T) {
	ctx := context.WithValue(context.Background(), lambdaTraceKey, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")
	c, ok := FromLambda(ctx)
	if !ok || c.Sampled {
		t.Fatalf("FromLambda = %+v, %v", c, ok)
	}
	if _, ok := FromLambda(context.Background()); ok {
		t.Fatal("FromLambda of a context without a trace is valid")
	}
}

// FuzzParse reads any text as a traceparent and as an X-Ray header: whatever either
// accepts is written back in both forms and reads back to the same trace.
func FuzzParse(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	f.Add("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (Context, bool){ParseTraceparent, ParseXRay} {
			c, ok := parse(s)
			if !ok {
				continue
			}
			// Whatever is accepted re-reads to itself in both forms.
			if a, ok := ParseTraceparent(c.Traceparent()); !ok || a != c {
				t.Fatalf("%q: traceparent round trip %+v -> %+v", s, c, a)
			}
			if b, ok := ParseXRay(c.XRay()); !ok || b != c {
				t.Fatalf("%q: X-Ray round trip %+v -> %+v", s, c, b)
			}
		}
	})
}
