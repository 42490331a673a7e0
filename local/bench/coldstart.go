package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// A subject is one kind of start measured in every round.
type subject struct {
	fn, auth string
	mode     string // how the row names the configuration; "`KAFKA_AUTH=<auth>`" when empty
	bin      string
	env      []string
	event    []byte // nil: init only
	want     string // a first answer must contain it
	starts   []start
}

// coldStartRows measures every function's init in every auth mode (broker unreachable)
// and its first invoke (broker on loopback), each against hello's. The subjects take
// turns, n rounds of one start each (after one unmeasured round that loads each binary
// from disk), so that a shared machine's drift falls on all of them alike; a value is
// the median of its n starts, and a ratio the median of one to hello's.
func coldStartRows(ctx context.Context, root, work string, n int) ([]row, error) {
	subjects, cleanup, err := coldStartSubjects(ctx, root, work)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	for round := -1; round < n; round++ {
		for _, s := range subjects {
			st, err := coldStart(ctx, s.bin, s.env, s.event)
			if err != nil {
				return nil, err
			}
			if s.event != nil && !bytes.Contains(st.body, []byte(s.want)) {
				return nil, fmt.Errorf("%s answered its first invocation with %s, want %s in it", s.fn, st.body, s.want)
			}
			if round >= 0 {
				s.starts = append(s.starts, st)
			}
		}
	}
	return coldRows(subjects), nil
}

// coldStartSubjects builds the binaries for this machine, starts the loopback broker
// and returns the subjects: the init ones first, hello's first of each kind.
func coldStartSubjects(ctx context.Context, root, work string) ([]*subject, func(), error) {
	bins := map[string]string{}
	for _, fn := range append(append([]struct{ name, pkg string }{{"hello", helloPkg}}, functions...), getOrders) {
		out := filepath.Join(work, "host", fn.name, "bootstrap")
		if err := buildLambda(ctx, root, fn.pkg, out, goHostOS(), goHostArch()); err != nil {
			return nil, nil, err
		}
		bins[fn.name] = out
	}
	events := map[string][]byte{}
	for name, file := range map[string]string{"hello": "create-order.json", "create-order": "create-order.json", "validate-order": "validate-order.json"} {
		b, err := os.ReadFile(filepath.Join(root, "events", file))
		if err != nil {
			return nil, nil, err
		}
		events[name] = b
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1),
		kfake.SeedTopics(1, "orders.submitted", "orders", "orders.rejected", "orders.dlq"))
	if err != nil {
		return nil, nil, err
	}
	broker := "KAFKA_BROKERS=" + strings.Join(cluster.ListenAddrs(), ",")

	subjects := []*subject{{fn: "hello", bin: bins["hello"]}}
	for _, auth := range []string{"none", "msk-iam"} {
		for _, fn := range functions {
			subjects = append(subjects, &subject{fn: fn.name, auth: auth, bin: bins[fn.name],
				env: []string{"KAFKA_BROKERS=127.0.0.1:9", "KAFKA_AUTH=" + auth}})
		}
	}
	// get-orders opens its database lazily: init reads the configuration and, as deployed
	// with RDS IAM authentication, picks its credential source.
	subjects = append(subjects, &subject{fn: getOrders.name, bin: bins[getOrders.name], mode: "`DB_AUTH=iam`",
		env: []string{"DB_ENDPOINT=127.0.0.1:9", "DB_NAME=orders", "DB_USER=reader", "DB_AUTH=iam"}})
	subjects = append(subjects, &subject{fn: "hello", bin: bins["hello"], event: events["hello"], want: `"statusCode":200`})
	for _, fn := range functions {
		want := map[string]string{"create-order": `"statusCode":201`, "validate-order": `"accepted":`}[fn.name]
		subjects = append(subjects, &subject{fn: fn.name, auth: "none", bin: bins[fn.name], event: events[fn.name], want: want,
			env: []string{broker, "KAFKA_AUTH=none"}})
	}
	return subjects, cluster.Close, nil
}

// modeText names the subject's configuration in its row.
func (s *subject) modeText() string {
	if s.mode != "" {
		return s.mode
	}
	return "`KAFKA_AUTH=" + s.auth + "`"
}

// coldRows turns the samples into rows: init against hello's init, first invoke
// against hello's first invoke.
func coldRows(subjects []*subject) []row {
	var helloInit, helloFirst *subject
	var rows []row
	for _, s := range subjects {
		switch {
		case s.fn == "hello" && s.event == nil:
			helloInit = s
		case s.fn == "hello":
			helloFirst = s
		case s.event == nil:
			rows = append(rows, coldRow(s, helloInit, func(st start) (time.Duration, time.Duration, int64) { return st.init, st.initCPU, st.initFaults },
				fmt.Sprintf("cold start, %s, %s (process start → first `/invocation/next`)", s.fn, s.modeText()), 1.3))
		default:
			rows = append(rows, coldRow(s, helloFirst, func(st start) (time.Duration, time.Duration, int64) { return st.first, st.firstCPU, st.firstFaults },
				fmt.Sprintf("first invoke, %s, `KAFKA_AUTH=%s` (process start → first response, broker on loopback)", s.fn, s.auth), 1.5))
		}
	}
	return rows
}

// coldRow is one subject's row against its hello baseline: medians, their ratio, and
// the spread (25th to 75th percentile) of the values and of the per-round ratios; and
// beside them the median CPU time and page faults, when known. of returns a start's
// wall time, CPU time and page faults.
func coldRow(s, hello *subject, of func(start) (time.Duration, time.Duration, int64), what string, limit float64) row {
	var ds, bs, dcpu, bcpu []time.Duration
	var dflt, bflt []int64
	var ratios []float64
	for i := range s.starts {
		d, c, f := of(s.starts[i])
		b, bc, bf := of(hello.starts[i])
		ds, bs, dcpu, bcpu = append(ds, d), append(bs, b), append(dcpu, c), append(bcpu, bc)
		dflt, bflt = append(dflt, f), append(bflt, bf)
		ratios = append(ratios, float64(d)/float64(b))
	}
	d, base := quantile(ds, 0.5), quantile(bs, 0.5)
	ratio := float64(d) / float64(base)
	spread := func(xs []time.Duration) string {
		return fmt.Sprintf("p25–p75 %s–%s", fmtDuration(quantile(xs, 0.25)), fmtDuration(quantile(xs, 0.75)))
	}
	r := row{
		What:     what,
		Value:    fmt.Sprintf("%s (%s)", fmtDuration(d), spread(ds)),
		Baseline: fmt.Sprintf("%s (hello; %s)", fmtDuration(base), spread(bs)),
		Ratio:    fmt.Sprintf("%.2f× (per round p25–p75 %.2f–%.2f×)", ratio, quantile(ratios, 0.25), quantile(ratios, 0.75)),
		Target:   fmt.Sprintf("≤ %.1f×", limit),
		Met:      ratio <= limit,
	}
	if c, bc := quantile(dcpu, 0.5), quantile(bcpu, 0.5); c > 0 && bc > 0 {
		r.Value = fmt.Sprintf("%s (%s; on CPU %s)", fmtDuration(d), spread(ds), fmtDuration(c))
		r.Baseline = fmt.Sprintf("%s (hello; %s; on CPU %s)", fmtDuration(base), spread(bs), fmtDuration(bc))
		r.Ratio = fmt.Sprintf("%.2f× (per round p25–p75 %.2f–%.2f×; CPU %.2f×)", ratio, quantile(ratios, 0.25), quantile(ratios, 0.75), float64(c)/float64(bc))
	}
	if f, bf := quantile(dflt, 0.5), quantile(bflt, 0.5); f > 0 && bf > 0 {
		r.Value = strings.TrimSuffix(r.Value, ")") + fmt.Sprintf("; %d page faults)", f)
		r.Baseline = strings.TrimSuffix(r.Baseline, ")") + fmt.Sprintf("; %d page faults)", bf)
	}
	if !r.Met {
		r.Note = boundColdStart
	}
	return r
}

// quantile returns the q-quantile of xs (nearest rank), which it sorts.
func quantile[T int64 | float64 | time.Duration](xs []T, q float64) T {
	slices.Sort(xs)
	return xs[int(q*float64(len(xs)-1)+0.5)]
}
