package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// runtimeAPI is a minimal Lambda Runtime API (and the Extensions API, which
// lambda.WithEnableSIGTERM registers with during init) for one process at a time. It
// records when the process first asks for an invocation; it then either holds that
// request (an init measurement) or hands the process one event and records when its
// answer arrives (a first-invoke measurement).
type runtimeAPI struct {
	ln  net.Listener
	srv *http.Server

	mu    sync.Mutex
	event []byte // the event of the current start; nil: hold /next
	given bool   // the event was handed out

	next   chan time.Time // the first GET /invocation/next of the current process
	answer chan answer    // its first /response or /error
}

// answer is a process's reply to its first invocation.
type answer struct {
	at   time.Time
	body []byte
	err  bool // it posted to /error
}

func newRuntimeAPI() (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	api := &runtimeAPI{ln: ln, next: make(chan time.Time, 1), answer: make(chan answer, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", api.serveNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/{kind}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case api.answer <- answer{at: time.Now(), body: body, err: r.PathValue("kind") == "error"}:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /2020-01-01/extension/register", func(w http.ResponseWriter, r *http.Request) {
		// As Lambda answers: 200 with the extension's id.
		w.Header().Set("Lambda-Extension-Identifier", "bench-extension")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"functionName":"bench","functionVersion":"$LATEST","handler":"bootstrap"}`))
	})
	mux.HandleFunc("GET /2020-01-01/extension/event/next", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // no lifecycle events were asked for
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	api.srv = &http.Server{Handler: mux}
	go api.srv.Serve(ln)
	return api, nil
}

func (api *runtimeAPI) serveNext(w http.ResponseWriter, r *http.Request) {
	select {
	case api.next <- time.Now():
	default:
	}
	api.mu.Lock()
	event := api.event
	give := event != nil && !api.given
	api.given = api.given || give
	api.mu.Unlock()
	if !give {
		<-r.Context().Done() // hold the request: the process is killed next
		return
	}
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", "bench-request")
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:111122223333:function:bench")
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-67406b78-3f6e1c2a9b8d7e6f5a4b3c2d;Parent=53995c3f42cd8ad8;Sampled=1")
	h.Set("Content-Type", "application/json")
	w.Write(event)
}

func (api *runtimeAPI) Close() { api.srv.Close() }

// start is what one process start measured.
type start struct {
	init  time.Duration // process start → first GET /invocation/next
	first time.Duration // process start → the answer to the first invocation (0: none asked)
	body  []byte        // that answer

	// CPU time of all the process's threads until then (0 where /proc has none): less
	// sensitive than the wall clock to the other work of a shared machine.
	initCPU, firstCPU time.Duration
}

// coldStart starts bin once under the runtime API. Without an event it returns at the
// first GET /runtime/invocation/next: all of init (package init, config, client
// construction, any extension registration) and nothing of an invocation. With one, it
// hands the process event and also returns the time to its answer.
func (api *runtimeAPI) coldStart(ctx context.Context, bin string, env []string, event []byte) (start, error) {
	select { // late requests of the previous process
	case <-api.next:
	default:
	}
	select {
	case <-api.answer:
	default:
	}
	api.mu.Lock()
	api.event, api.given = event, false
	api.mu.Unlock()

	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(lambdaEnv(api.ln.Addr().String()), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return start{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	timeout := time.After(10 * time.Second)
	var s start
	select {
	case t := <-api.next:
		s.init, s.initCPU = t.Sub(began), cpuTime(cmd.Process.Pid)
	case err := <-exited:
		return start{}, fmt.Errorf("%s exited before asking for an invocation: %v\n%s", bin, err, stderr.String())
	case <-timeout:
		return start{}, fmt.Errorf("%s did not ask for an invocation within 10s\n%s", bin, stderr.String())
	}
	if event == nil {
		return s, nil
	}
	select {
	case a := <-api.answer:
		if a.err {
			return start{}, fmt.Errorf("%s answered its first invocation with an error: %s\n%s", bin, a.body, stderr.String())
		}
		s.first, s.body, s.firstCPU = a.at.Sub(began), a.body, cpuTime(cmd.Process.Pid)
		return s, nil
	case err := <-exited:
		return start{}, fmt.Errorf("%s exited during its first invocation: %v\n%s", bin, err, stderr.String())
	case <-timeout:
		return start{}, fmt.Errorf("%s did not answer its first invocation within 10s\n%s", bin, stderr.String())
	}
}

// cpuTime returns how long the threads of process pid have run, from the first field
// of each /proc/<pid>/task/<tid>/schedstat (nanoseconds on a CPU); 0 when unknown.
func cpuTime(pid int) time.Duration {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			total += time.Duration(ns)
		}
	}
	return total
}

// lambdaEnv is the environment Lambda gives every function, the execution role's
// credentials included (msk-iam takes them from there), and its time zone: without TZ a
// Go program reads /etc/localtime the first time it formats a local time, which Lambda's
// TZ=:UTC spares it.
func lambdaEnv(api string) []string {
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + api,
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY=bench-secret",
		"AWS_SESSION_TOKEN=session-token",
		"AWS_LAMBDA_FUNCTION_NAME=bench",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_REGION=us-east-1",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
		"_HANDLER=bootstrap",
		"TZ=:UTC",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
	}
}

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
	api, err := newRuntimeAPI()
	if err != nil {
		return nil, err
	}
	defer api.Close()
	for round := -1; round < n; round++ {
		for _, s := range subjects {
			st, err := api.coldStart(ctx, s.bin, s.env, s.event)
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
			rows = append(rows, coldRow(s, helloInit, func(st start) (time.Duration, time.Duration) { return st.init, st.initCPU },
				fmt.Sprintf("cold start, %s, %s (process start → first `/invocation/next`)", s.fn, s.modeText()), 1.3))
		default:
			rows = append(rows, coldRow(s, helloFirst, func(st start) (time.Duration, time.Duration) { return st.first, st.firstCPU },
				fmt.Sprintf("first invoke, %s, `KAFKA_AUTH=%s` (process start → first response, broker on loopback)", s.fn, s.auth), 1.5))
		}
	}
	return rows
}

// coldRow is one subject's row against its hello baseline: medians, their ratio, and
// the spread (25th to 75th percentile) of the values and of the per-round ratios; and
// beside them the median CPU time, when known. of returns a start's wall and CPU time.
func coldRow(s, hello *subject, of func(start) (time.Duration, time.Duration), what string, limit float64) row {
	var ds, bs, dcpu, bcpu []time.Duration
	var ratios []float64
	for i := range s.starts {
		d, c := of(s.starts[i])
		b, bc := of(hello.starts[i])
		ds, bs, dcpu, bcpu = append(ds, d), append(bs, b), append(dcpu, c), append(bcpu, bc)
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
