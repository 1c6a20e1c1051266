package graph

import (
	"context"
	"sync"
)

// eachAtOnce runs fn for the items 0..n-1, at most workers at once: the full sync's small reads
// (the members of each group and each directory role) each take a round trip to Graph, and
// every page of users waits for them, so they are not read one after the other. The first
// error cancels the context the others run in and is returned.
func eachAtOnce(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan int)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// together runs a and b at once and answers their errors: two independent reads cost one round
// trip instead of two.
func together(a, b func() error) (errA, errB error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		errB = b()
	}()
	errA = a()
	<-done
	return errA, errB
}
