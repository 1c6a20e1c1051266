package mfa

import (
	"context"
	"time"
)

// Several replicas may serve one store; some work must run on one of them at a time (the bulk
// runner, the Graph sync). A replica does such work while it holds a lease on it in the store,
// renewing it as it goes; a lease not renewed expires, and another replica takes it over.

// Lease is a lease held: its name, its holder (one replica), and the epoch the holder took it at,
// which grows with every take-over. It also fences writes: a store that finds a Lease in a
// write's context (ContextWithLease) refuses the write once the lease has moved on, so that a
// replica that stalled past its lease's end cannot apply rows its successor applies too.
type Lease struct {
	Name   string
	Holder string
	Epoch  int64
}

// LeaseStore keeps leases. Expiry is measured by the store's clock, so that replicas whose
// clocks differ still agree on it.
type LeaseStore interface {
	// AcquireLease takes the lease name for holder for ttl if it is free, expired or held by
	// holder already (then it is renewed, same epoch). ok is false when another holds it.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (l Lease, ok bool, err error)
	// RenewLease extends a held lease by ttl from now; ECONFLICT if it was lost (expired and taken,
	// or released).
	RenewLease(ctx context.Context, l Lease, ttl time.Duration) error
	// ReleaseLease gives a held lease up at once (a clean shutdown), so another takes it without
	// waiting for it to expire. Releasing a lease lost already is not an error.
	ReleaseLease(ctx context.Context, l Lease) error
}

type leaseKey struct{}

// ContextWithLease returns a context whose writes the store fences with l (see Lease).
func ContextWithLease(ctx context.Context, l Lease) context.Context {
	return context.WithValue(ctx, leaseKey{}, l)
}

// LeaseFromContext returns the lease that fences writes made with ctx, if any.
func LeaseFromContext(ctx context.Context) (Lease, bool) {
	l, ok := ctx.Value(leaseKey{}).(Lease)
	return l, ok
}

// LeaseHolder runs work on one replica at a time: the one that holds the lease Name. Each replica
// runs Hold; the holder renews the lease every TTL/3, and when it stops renewing (it died, or
// lost the database) another replica takes the lease over within TTL plus a try (TTL/3).
type LeaseHolder struct {
	Store  LeaseStore
	Name   string // e.g. "bulk-runner"
	Holder string // this replica, unique among replicas (host, process, random)
	TTL    time.Duration
	// OnError reports a failure to take or renew the lease (for the log).
	OnError func(msg string, err error)
	// OnHold, if set, is told when this replica starts (true) and stops (false) working under
	// the lease (for a metric).
	OnHold func(held bool)
}

// Hold runs work whenever this replica holds the lease, until ctx ends. work's context carries
// the lease (ContextWithLease), so the store refuses its writes once the lease has moved on, and
// is cancelled as soon as a renewal finds the lease lost; work must then return. A lease held
// when ctx ends is released, so that another replica takes over at once.
func (h *LeaseHolder) Hold(ctx context.Context, work func(ctx context.Context)) {
	try := h.TTL / 3
	for ctx.Err() == nil {
		l, ok, err := h.Store.AcquireLease(ctx, h.Name, h.Holder, h.TTL)
		if err != nil && ctx.Err() == nil && h.OnError != nil {
			h.OnError("taking the lease "+h.Name, err)
		}
		if ok {
			h.holding(ctx, l, work)
		}
		select {
		case <-ctx.Done():
		case <-time.After(try):
		}
	}
}

// holding runs work under l, renewing it, until work returns or the lease is lost.
func (h *LeaseHolder) holding(ctx context.Context, l Lease, work func(ctx context.Context)) {
	if h.OnHold != nil {
		h.OnHold(true)
		defer h.OnHold(false)
	}
	workCtx, stop := context.WithCancel(ContextWithLease(ctx, l))
	done := make(chan struct{})
	go func() { defer close(done); work(workCtx) }()
	tick := time.NewTicker(h.TTL / 3)
	defer tick.Stop()
	renewed := time.Now()
	for {
		select {
		case <-done:
			stop()
			h.Store.ReleaseLease(context.WithoutCancel(ctx), l)
			return
		case <-tick.C:
			err := h.Store.RenewLease(ctx, l, h.TTL)
			if err == nil {
				renewed = time.Now()
				continue
			}
			if ctx.Err() == nil && h.OnError != nil {
				h.OnError("renewing the lease "+h.Name, err)
			}
			// Lost (another replica holds it now), or not renewed for its whole time (the store
			// cannot be reached: another may hold it by now): the work stops.
			if ErrorCode(err) == ECONFLICT || time.Since(renewed) >= h.TTL {
				stop()
				<-done
				return
			}
		}
	}
}

// WorkRequestStore lets any replica ask for work that the holder of a lease does: "sync now",
// clicked on any replica, reaches the replica that syncs, which polls the store for requests (a
// request outlives the holder's death: its successor finds it).
type WorkRequestStore interface {
	// RequestWork records a request for the work name made at at; asking again while one waits
	// keeps the first.
	RequestWork(ctx context.Context, name string, at time.Time) error
	// WorkRequested answers when the waiting request for name was made; zero if none waits.
	WorkRequested(ctx context.Context, name string) (time.Time, error)
	// TakeWorkRequest removes the waiting request for name, answering whether there was one.
	TakeWorkRequest(ctx context.Context, name string) (bool, error)
}
