package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// startStack builds the CLI and starts the local stack as its own process on dbURL,
// logging to work/stack.log; it returns the gateway's URL once it answers, and how to
// stop the stack (SIGINT, then SIGKILL after 15 s).
func startStack(ctx context.Context, root, work, dbURL string) (url string, stop func(), err error) {
	bin := filepath.Join(work, "ordersync")
	if _, err := command(ctx, root, nil, "go", "build", "-o", bin, "./cmd/ordersync"); err != nil {
		return "", nil, err
	}
	httpAddr, kafkaAddr := freeAddr(), freeAddr()
	cmd := exec.CommandContext(ctx, bin, "--http", httpAddr, "--kafka", kafkaAddr, "--data", filepath.Join(work, "data"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "LOG_LEVEL=warn")
	cmd.Env = slices.DeleteFunc(cmd.Env, func(s string) bool { return strings.HasPrefix(s, "KAFKA_BROKERS=") })
	logf, err := os.Create(filepath.Join(work, "stack.log"))
	if err != nil {
		return "", nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", nil, err
	}
	stop = func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logf.Close()
	}
	url = "http://" + httpAddr
	if err := waitHTTP(ctx, url, 3*time.Minute); err != nil {
		stop()
		log, _ := os.ReadFile(filepath.Join(work, "stack.log"))
		return "", nil, fmt.Errorf("local stack did not come up: %w\n%s", err, tail(log, 40))
	}
	return url, stop, nil
}

// stackRows starts the local stack as its own process against a fresh MariaDB database,
// sends orders through its HTTP gateway from a bounded set of clients, and waits until the
// sink has written them; then it reconciles: every 201 must have exactly one row.
func stackRows(ctx context.Context, root, work string, orders, clients int) ([]row, error) {
	cfg, dbName, dbURL, drop, err := benchDatabase(ctx)
	if err != nil {
		return nil, err
	}
	defer drop()
	url, stop, err := startStack(ctx, root, work, dbURL)
	if err != nil {
		return nil, err
	}
	defer stop()

	db, err := sql.Open("mysql", withDB(cfg, dbName).FormatDSN())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	watch := watchRows(ctx, db, 50*time.Millisecond)
	defer watch.stop()

	progress("  %d orders from %d clients through %s", orders, clients, url)
	res, err := load(ctx, url, orders, clients)
	if err != nil {
		return nil, err
	}

	// The pipeline is asynchronous after the 201: wait until every order is a row.
	rows, last, err := watch.waitFor(len(res.ids), 5*time.Minute)
	if err != nil {
		return nil, err
	}
	drained := last.Sub(res.start)
	p50, p99 := rowLatencies(res.acked, watch.stop())
	lost, doubled, err := reconcile(ctx, db, res.ids)
	if err != nil {
		return nil, err
	}
	ok := lost == 0 && doubled == 0 && res.failed == 0
	progress("  GET of each order from %d clients", clients)
	gets, err := readLoad(ctx, url, res.paths, clients)
	if err != nil {
		return nil, err
	}
	note := fmt.Sprintf("%d sent, %d answered 201, %d other answers, %d rows, %d lost, %d doubled; last row written %s after the first request. "+
		"201 → row latency: the k-th 201 against the moment the table first held k rows (row count read every 50 ms), "+
		"so it assumes first acknowledged, first stored and is at most 50 ms coarse",
		orders, len(res.ids), res.failed, rows, lost, doubled, drained.Round(time.Millisecond))
	return []row{
		{
			What:     fmt.Sprintf("local stack, HTTP → 201 (%d orders, %d clients)", orders, clients),
			Value:    fmt.Sprintf("%.0f orders/s; p50 %s, p99 %s", float64(len(res.ids))/res.took.Seconds(), fmtDuration(res.p50), fmtDuration(res.p99)),
			Baseline: "—", Ratio: "—", Target: "report", Met: true,
		},
		{
			What: "local stack, HTTP → row in MariaDB",
			Value: fmt.Sprintf("%.0f orders/s end to end; 201 → row p50 %s, p99 %s", float64(len(res.ids))/drained.Seconds(),
				fmtDuration(p50), fmtDuration(p99)),
			Baseline: "—", Ratio: "—", Target: "every 201 has exactly one row", Met: ok, Note: note,
		},
		{
			What:     fmt.Sprintf("local stack, HTTP GET of each stored order (%d reads, %d clients)", len(res.paths), clients),
			Value:    fmt.Sprintf("%.0f reads/s; p50 %s, p99 %s", float64(len(res.paths))/gets.took.Seconds(), fmtDuration(gets.p50), fmtDuration(gets.p99)),
			Baseline: "—", Ratio: "—", Target: "report; every read 200", Met: gets.failed == 0,
			Note: fmt.Sprintf("%d answered other than 200", gets.failed),
		},
	}, nil
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHTTP(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("no answer on %s within %s", url, limit)
}

func tail(b []byte, lines int) string {
	s := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(s) > lines {
		s = s[len(s)-lines:]
	}
	return strings.Join(s, "\n")
}
