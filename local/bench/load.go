package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The HTTP load of the stack measurement: orders posted through the gateway, then each
// stored order read back, from a bounded set of clients.

type loadResult struct {
	ids   []string
	paths []string // the Location of each 201

	acked    []time.Time // when each 201 arrived
	failed   int
	start    time.Time
	took     time.Duration
	p50, p99 time.Duration
}

// load posts orders orders from clients clients at once and returns the ids, Locations
// and arrival times of the 201s, the latency percentiles of all answers and the count
// of requests that got no 201.
func load(ctx context.Context, url string, orders, clients int) (loadResult, error) {
	var (
		mu      sync.Mutex
		res     loadResult
		lat     = make([]time.Duration, 0, orders)
		firstEr error
	)
	client := loadClient(clients)
	res.start = time.Now()
	fanOut(ctx, orders, clients, func(n int) {
		i := n + 1
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
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var created struct {
			OrderID string `json:"orderId"`
		}
		mu.Lock()
		defer mu.Unlock()
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
	})
	res.took = time.Since(res.start)
	if len(lat) == 0 {
		return res, fmt.Errorf("no answers: %v", firstEr)
	}
	if firstEr != nil {
		progress("  first failed request: %v", firstEr)
	}
	res.p50, res.p99 = percentiles(lat)
	return res, nil
}

// readLoad GETs every path (the Locations of the 201s, once their rows are stored) from
// clients clients at once, and returns the latency percentiles and the non-200 count.
func readLoad(ctx context.Context, url string, paths []string, clients int) (loadResult, error) {
	var (
		mu  sync.Mutex
		res loadResult
		lat = make([]time.Duration, 0, len(paths))
	)
	client := loadClient(clients)
	res.start = time.Now()
	fanOut(ctx, len(paths), clients, func(i int) {
		t := time.Now()
		resp, err := client.Get(url + paths[i])
		d := time.Since(t)
		ok := err == nil && resp.StatusCode == http.StatusOK
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		mu.Lock()
		defer mu.Unlock()
		lat = append(lat, d)
		if !ok {
			res.failed++
		}
	})
	res.took = time.Since(res.start)
	if len(lat) == 0 {
		return res, fmt.Errorf("no reads")
	}
	res.p50, res.p99 = percentiles(lat)
	return res, nil
}

// loadClient is an HTTP client that keeps a connection for each of clients clients.
func loadClient(clients int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
}

// fanOut calls do(i) for each i in [0, n), from clients goroutines at once, until ctx
// ends.
func fanOut(ctx context.Context, n, clients int, do func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				do(i)
			}
		})
	}
	wg.Wait()
}

// percentiles returns the median and the 99th percentile (nearest rank) of lat, which
// it sorts.
func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	return quantile(lat, 0.5), quantile(lat, 0.99)
}
