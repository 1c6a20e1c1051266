package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graph"
)

// startLeasedWork starts the work that one replica of those sharing the store does at a time, each
// under a lease of its own (mfa.LeaseHolder): the bulk runner (lease bulk-runner), the chores
// (exemptions that run out, the overview's snapshot: chores) and, on Microsoft Graph, the index's
// sync (graph-sync). A replica that dies stops renewing its leases, and another takes each over
// within --lease-ttl and a third of it; a job resumes where it stopped (its writes fenced by the
// lease: no row applied twice). Wait returns once all of it has stopped, after ctx ends.
// Whether this replica holds each lease is told to held (the metric mfaportal_lease_held).
func startLeasedWork(ctx context.Context, cfg config, db store, svc *mfa.Service, graphDir *graph.Directory, held func(string, bool), log *slog.Logger) *sync.WaitGroup {
	onError := func(msg string, err error) { log.Error(msg, "err", err) }
	// Bulk jobs run in the background and resume after a restart; SIGTERM pauses them between
	// batches, and the store is closed only once the runner has stopped.
	runner := mfa.NewBulkRunner(svc, onError)
	// On the embedded directory a batch is one transaction of up to 30,000 rows and about 2 s at
	// most: large enough to write shared index pages once (a million rows: 52–54 s, against 57–59 s
	// in batches of 1.5 s and 70 s in batches of 0.7 s), short enough not to hold other writers (a
	// sign-in, a quick step) up for long. The progress bar moves during a batch all the same (mfa's
	// live progress).
	runner.BatchSize, runner.BatchTime = 30000, 2*time.Second
	runner.SizeBatchesFor(db) // PostgreSQL's own (mfa/postgres: BulkBatch)
	runner.LiveProgress = true
	if graphDir != nil {
		// Larger batches keep Graph's $batch requests flowing between the runner's steps; the
		// local index is kept fresh in the background.
		runner.BatchSize, runner.BatchTime = 2000, 0
		runner.LiveProgress = false
	}
	var wg sync.WaitGroup
	hold := func(name string, work func(context.Context)) {
		h := &mfa.LeaseHolder{Store: db, Name: name, Holder: replicaName(), TTL: cfg.LeaseTTL, OnError: onError,
			OnHold: func(on bool) { held(name, on) }}
		held(name, false)
		wg.Go(func() { h.Hold(ctx, work) })
	}
	hold("bulk-runner", runner.Run)
	chores := &mfa.Chores{Service: svc, OnError: onError}
	hold("chores", chores.Run)
	if graphDir != nil {
		hold(graph.SyncWork, graphDir.Run) // "sync now" on any replica reaches it (graph.Directory.StartSync)
	}
	return &wg
}

// setUpOnce runs fn once, holding the lease "setup" (renewed as it runs: seeding a large demo
// tenant takes minutes), and waits for it while another replica holds it.
func setUpOnce(ctx context.Context, db mfa.LeaseStore, ttl time.Duration, log *slog.Logger, fn func(ctx context.Context) error) error {
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := false
	var err error
	h := &mfa.LeaseHolder{Store: db, Name: "setup", Holder: replicaName(), TTL: ttl,
		OnError: func(msg string, err error) { log.Error(msg, "err", err) }}
	h.Hold(hctx, func(ctx context.Context) {
		defer cancel() // once: Hold returns
		ran, err = true, fn(ctx)
	})
	if !ran && err == nil {
		err = ctx.Err()
	}
	return err
}
