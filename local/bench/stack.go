package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ordersync/ordersync/shared/db"

	"github.com/go-sql-driver/mysql"
)

// benchDatabase creates a fresh database on DATABASE_URL's server (MariaDB on
// 127.0.0.1:3306 by default) and returns its config, name and URL, and how to drop it.
func benchDatabase(ctx context.Context) (cfg *mysql.Config, dbName, dbURL string, drop func(), err error) {
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = "mysql://root@127.0.0.1:3306/test"
	}
	cfg, err = db.MySQLConfig(base)
	if err != nil {
		return nil, "", "", nil, err
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, "", "", nil, err
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return nil, "", "", nil, fmt.Errorf("MariaDB at %s: %w (set DATABASE_URL, or run with --stack=false)", cfg.Addr, err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	dbName = "ordersync_bench_" + hex.EncodeToString(suffix)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+dbName+"`"); err != nil {
		admin.Close()
		return nil, "", "", nil, err
	}
	drop = func() {
		admin.Exec("DROP DATABASE `" + dbName + "`")
		admin.Close()
	}
	dbURL = strings.TrimSuffix(base, "/"+cfg.DBName)
	if i := strings.IndexByte(dbURL, '?'); i >= 0 {
		dbURL = dbURL[:i]
	}
	return cfg, dbName, dbURL + "/" + dbName, drop, nil
}

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

// readLoad GETs every path (the Locations of the 201s, once their rows are stored) from
// clients clients at once, and returns the latency percentiles and the non-200 count.
func readLoad(ctx context.Context, url string, paths []string, clients int) (loadResult, error) {
	var (
		next atomic.Int64
		mu   sync.Mutex
		res  loadResult
		lat  = make([]time.Duration, 0, len(paths))
	)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	res.start = time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(paths)) {
					return
				}
				t := time.Now()
				resp, err := client.Get(url + paths[i])
				d := time.Since(t)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				lat = append(lat, d)
				if !ok {
					res.failed++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.took = time.Since(res.start)
	if len(lat) == 0 {
		return res, fmt.Errorf("no reads")
	}
	slices.Sort(lat)
	res.p50, res.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	return res, nil
}

type loadResult struct {
	ids   []string
	paths []string // the Location of each 201

	acked    []time.Time // when each 201 arrived
	failed   int
	start    time.Time
	took     time.Duration
	p50, p99 time.Duration
}

func load(ctx context.Context, url string, orders, clients int) (loadResult, error) {
	var (
		next    atomic.Int64
		mu      sync.Mutex
		res     loadResult
		lat     = make([]time.Duration, 0, orders)
		firstEr error
	)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	res.start = time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(orders) {
					return
				}
				body := fmt.Sprintf(`{"productId":"CATALOG-%04d","qty":%d,"unitPrice":%d}`, i%1000, 1+i%9, 100+i%5000)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/order-service/bench-%d/orders", url, i%97), strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				t := time.Now()
				resp, err := client.Do(req)
				d := time.Since(t)
				if err != nil {
					mu.Lock()
					res.failed++
					if firstEr == nil {
						firstEr = err
					}
					mu.Unlock()
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var created struct {
					OrderID string `json:"orderId"`
				}
				mu.Lock()
				lat = append(lat, d)
				if resp.StatusCode == http.StatusCreated && json.Unmarshal(b, &created) == nil && created.OrderID != "" {
					res.ids = append(res.ids, created.OrderID)
					res.paths = append(res.paths, resp.Header.Get("Location"))
					res.acked = append(res.acked, t.Add(d))
				} else {
					res.failed++
					if firstEr == nil {
						firstEr = fmt.Errorf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.took = time.Since(res.start)
	if len(lat) == 0 {
		return res, fmt.Errorf("no answers: %v", firstEr)
	}
	if firstEr != nil {
		progress("  first failed request: %v", firstEr)
	}
	slices.Sort(lat)
	res.p50 = lat[len(lat)/2]
	res.p99 = lat[len(lat)*99/100]
	return res, nil
}

// A rowWatch reads the row count of the orders table at a fixed interval, from before
// the first request until it is stopped.
type rowWatch struct {
	mu      sync.Mutex
	samples []rowCount
	err     error
	cancel  context.CancelFunc
	done    chan struct{}
}

type rowCount struct {
	at   time.Time
	rows int
}

func watchRows(ctx context.Context, db *sql.DB, every time.Duration) *rowWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &rowWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			var n int
			err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders").Scan(&n)
			at := time.Now()
			if err != nil && ctx.Err() != nil {
				return
			}
			w.mu.Lock()
			switch {
			case err == nil:
				w.samples = append(w.samples, rowCount{at, n})
			case !isMissingTable(err): // the sink has not created its table yet
				w.err = err
			}
			w.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// waitFor waits until the table holds n rows, or limit passes, and returns the last
// count read and when it was read.
func (w *rowWatch) waitFor(n int, limit time.Duration) (int, time.Time, error) {
	deadline := time.Now().Add(limit)
	for {
		w.mu.Lock()
		err := w.err
		var last rowCount
		if len(w.samples) > 0 {
			last = w.samples[len(w.samples)-1]
		}
		w.mu.Unlock()
		if err != nil {
			return 0, time.Time{}, err
		}
		if last.rows >= n || time.Now().After(deadline) {
			return last.rows, last.at, nil
		}
		select {
		case <-w.done:
			return last.rows, last.at, errors.New("row count stopped")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop ends the watch and returns the counts read.
func (w *rowWatch) stop() []rowCount {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples
}

// rowLatencies pairs the k-th 201 with the first count of at least k rows and returns
// the median and 99th percentile of the time between them.
func rowLatencies(acked []time.Time, counts []rowCount) (p50, p99 time.Duration) {
	acked = slices.Clone(acked)
	slices.SortFunc(acked, func(a, b time.Time) int { return a.Compare(b) })
	var lat []time.Duration
	for k, at := range acked {
		i, _ := slices.BinarySearchFunc(counts, k+1, func(c rowCount, n int) int { return cmp.Compare(c.rows, n) })
		if i == len(counts) {
			break // never stored: reconcile reports it
		}
		lat = append(lat, max(0, counts[i].at.Sub(at)))
	}
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100]
}

// reconcile counts the 201 ids that have no row (lost) and those with more than one (doubled).
func reconcile(ctx context.Context, db *sql.DB, ids []string) (lost, doubled int, err error) {
	counts := map[string]int{}
	rows, err := db.QueryContext(ctx, "SELECT order_id, COUNT(*) FROM orders GROUP BY order_id")
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return 0, 0, err
		}
		counts[id] = n
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	for _, id := range ids {
		switch n := counts[id]; {
		case n == 0:
			lost++
		case n > 1:
			doubled++
		}
	}
	return lost, doubled, nil
}

func withDB(cfg *mysql.Config, name string) *mysql.Config {
	c := cfg.Clone()
	c.DBName = name
	return c
}

func isMissingTable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1146
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
