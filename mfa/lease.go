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
