package storetest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/auditsink"
)

// Records reach the stream file as they are written (the commit wakes the streamer), each once,
// across a restart (another handle: a replica taking over the stream); the file then verifies the
// database.
func testAuditStreamFollowsTheLog(t *testing.T, open TwinOpener) {
	ctx := context.Background()
	a, b := open(t)
	key := auditKey1
	stream := filepath.Join(t.TempDir(), "audit.jsonl")
	lines := func() int {
		b, _ := os.ReadFile(stream)
		return strings.Count(string(b), "\n")
	}
	appendN := func(db Store, n int) {
		for range n {
			rec := mfa.NewAuditRecord(mfa.CLIActor, mfa.SourceCLI, "", T0)
			rec.Action, rec.Target = mfa.AuditAccountAdd, "account:x"
			if err := db.AppendAudit(ctx, &rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(db Store) (stop func()) {
		s := &mfa.AuditStreamer{Log: db, Positions: db, Sinks: []mfa.AuditSink{auditsink.File{Path: stream}}}
		db.OnAudited(s.Wake)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { s.Run(runCtx); close(done) }()
		return func() { cancel(); <-done }
	}
	waitLines := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for lines() < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := lines(); got != n {
			t.Fatalf("%d lines in the stream, want %d", got, n)
		}
	}

	for _, db := range []Store{a, b} {
		if _, err := db.UseAuditKey(ctx, key, T0); err != nil {
			t.Fatal(err)
		}
	}
	db := a
	appendN(db, 3) // before the streamer runs: streamed when it starts
	stop := run(db)
	waitLines(3)
	appendN(db, 2)
	waitLines(5)
	stop()

	db = b // a restart, or another replica: goes on after record 5
	appendN(db, 2)
	stop = run(db)
	waitLines(7)
	stop()
	f, _ := os.Open(stream)
	defer f.Close()
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Audit: db, Settings: db, Jobs: db})
	svc.AuditKey = key
	cmp, err := svc.CompareAudit(ctx, mfa.CLIActor, f)
	if err != nil || !cmp.Intact() || cmp.File != 7 || cmp.Database != 7 {
		t.Fatalf("compare: %+v %v", cmp, err)
	}
}
