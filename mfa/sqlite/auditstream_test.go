package sqlite

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
// across a restart; the file then verifies the database.
func TestAuditStreamFollowsTheLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := []byte(strings.Repeat("k", 32))
	open := func() *DB {
		db, err := Open(ctx, filepath.Join(dir, "mfaportal.db"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.UseAuditKey(ctx, key, t0); err != nil {
			t.Fatal(err)
		}
		return db
	}
	stream := filepath.Join(dir, "audit.jsonl")
	lines := func() int {
		b, _ := os.ReadFile(stream)
		return strings.Count(string(b), "\n")
	}
	appendN := func(db *DB, n int) {
		for range n {
			rec := mfa.NewAuditRecord(mfa.CLIActor, mfa.SourceCLI, "", t0)
			rec.Action, rec.Target = mfa.AuditAccountAdd, "account:x"
			if err := db.AppendAudit(ctx, &rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(db *DB) (stop func()) {
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

	db := open()
	appendN(db, 3) // before the streamer runs: streamed when it starts
	stop := run(db)
	waitLines(3)
	appendN(db, 2)
	waitLines(5)
	stop()
	db.Close()

	db = open() // a restart: goes on after record 5
	appendN(db, 2)
	stop = run(db)
	waitLines(7)
	stop()
	f, _ := os.Open(stream)
	defer f.Close()
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Audit: db, Settings: db, Jobs: db})
	svc.AuditKey = key
	cmp, err := svc.CompareAudit(ctx, mfa.CLIActor, f)
	if b, _ := os.ReadFile(stream); true {
		for _, l := range strings.Split(string(b), "\n") {
			if len(l) > 20 {
				t.Log(l[:20])
			}
		}
	}
	if err != nil || !cmp.Intact() || cmp.File != 7 || cmp.Database != 7 {
		t.Fatalf("compare: %+v %v", cmp, err)
	}
	db.Close()
}
