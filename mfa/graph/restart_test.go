package graph

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// loseWriteAnswers lets every $batch carrying a PATCH reach Graph and be applied, then loses its
// answer: what a portal stopped (killed, restarted, its replica dead) while its writes were on the
// way leaves behind.
type loseWriteAnswers struct {
	next http.RoundTripper
	lost atomic.Int32
}

func (l *loseWriteAnswers) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/$batch") || req.Body == nil {
		return l.next.RoundTrip(req)
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	text := b
	if req.Header.Get("Content-Encoding") == "gzip" {
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			text, _ = io.ReadAll(zr)
		}
	}
	if !bytes.Contains(text, []byte(`"PATCH"`)) {
		return l.next.RoundTrip(req)
	}
	resp, err := l.next.RoundTrip(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	l.lost.Add(1)
	return nil, errors.New("connection reset: the portal stopped before Graph's answer came")
}

// The writes whose answers were lost when the portal stopped are counted changed, recorded once
// and not sent again by the process that resumes the job: the note that a write was sent is kept
// in the store, not in one process's memory.
func TestLostAnswersAreCountedOnceAfterARestart(t *testing.T) {
	var lose *loseWriteAnswers
	e := newEnv(t, graphemu.Options{Users: 40}, func(c *Config) {
		c.MaxAttempts = 1
		lose = &loseWriteAnswers{next: c.HTTPClient.Transport}
		c.HTTPClient = &http.Client{Transport: lose}
	})
	e.sync()
	ctx := context.Background()
	file, want := bulkFile(e, func(int) mfa.State { return mfa.StateEnforced })
	job, err := e.svc.CreateBulkJob(ctx, admin, "bulk.csv", strings.NewReader(file), mfa.DefaultCSVLimits, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.StartBulkJob(ctx, admin, job.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if err := (&mfa.BulkRunner{Service: e.svc, BatchSize: 500}).RunJob(ctx, job.ID); err == nil || lose.lost.Load() == 0 {
		t.Fatalf("the first run: %v, %d answers lost", err, lose.lost.Load())
	}
	applied := e.emu.Stats().WritesApplied
	if applied == 0 {
		t.Fatal("no write reached Graph")
	}

	// Another process (or replica) resumes the job over the same store.
	cfg := e.cfg
	cfg.HTTPClient = e.emu.Client()
	dir, err := New(cfg, e.db, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dir.Close)
	svc := mfa.MustNewService(mfa.Deps{Directory: dir, Accounts: e.db, Audit: e.db, Settings: dir, Jobs: e.db})
	if err := (&mfa.BulkRunner{Service: svc, BatchSize: 500}).RunJob(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	job, err = svc.GetBulkJob(ctx, admin, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != mfa.JobDone || job.Changed != job.Total || job.Unchanged != 0 || job.Failed != 0 {
		t.Fatalf("after the restart: %+v (%d writes had reached Graph)", job, applied)
	}
	if total := e.emu.Stats().WritesApplied; total != int64(job.Changed) {
		t.Errorf("%d writes applied for %d changed rows: a write was sent again", total, job.Changed)
	}
	for id, st := range want {
		if got, _ := e.emu.UserState(id); got != st {
			t.Errorf("%s is %s in Graph, asked %s", id, got, st)
		}
		g, _ := e.emu.User(id)
		if note, err := e.db.Meta(ctx, unsureKey(g.UPN)); note != "" || err != nil {
			t.Errorf("%s: the note of a write sent is still there: %q %v", g.UPN, note, err)
		}
	}
	page, _ := e.db.FindAudit(ctx, mfa.AuditFilter{Limit: 1000})
	recorded := map[string]int{}
	for _, r := range page.Records {
		if r.Source == mfa.SourceBulk(job.ID) && r.Action != mfa.AuditBulkStart {
			recorded[strings.ToLower(r.Target)]++
		}
	}
	if len(recorded) != job.Changed {
		t.Errorf("%d users recorded for %d changed rows", len(recorded), job.Changed)
	}
	for upn, n := range recorded {
		if n != 1 {
			t.Errorf("%s recorded %d times", upn, n)
		}
	}
}
