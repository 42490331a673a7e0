package testkit

import (
	"sync"
	"sync/atomic"
)

// Spread calls job(1), job(2) … job(n) from workers goroutines, each taking the next
// number when its last job has returned, as that many clients sharing a queue of
// requests would. The returned function waits until every job has returned.
func Spread(workers, n int, job func(i int)) (wait func()) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				job(int(i))
			}
		})
	}
	return wg.Wait
}
