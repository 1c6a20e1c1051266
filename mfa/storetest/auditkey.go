package storetest

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

var (
	auditKey1 = bytes.Repeat([]byte{0x11}, mfa.MinAuditKeyLen)
	auditKey2 = bytes.Repeat([]byte{0x22}, mfa.MinAuditKeyLen)
)

// record is an audit record of a test change to target.
func record(target string) *mfa.AuditRecord {
	r := mfa.NewAuditRecord(admin, mfa.SourceAPI, "", T0)
	r.Action, r.Target = "test", target
	return &r
}

// verifyChain checks the whole log under key and answers how many records it holds.
func verifyChain(t *testing.T, db Store, key []byte) int64 {
	t.Helper()
	v := mfa.ChainVerifier{Key: key}
	if err := db.EachAudit(context.Background(), 0, v.Check); err != nil {
		t.Fatalf("the chain is broken: %v", err)
	}
	return v.Checked
}

// A log chained before the audit key (legacy SHA-256) is re-chained once by the first replica given
// the key, and that is recorded; a replica without the key may no longer append, one given another
// key is refused, and one given the same key re-chains nothing.
func testAuditKeyRechains(t *testing.T, open TwinOpener) {
	a, b := open(t)
	ctx := context.Background()
	for _, target := range []string{"ada@contoso.com", "Bob@contoso.com"} {
		if err := a.AppendAudit(ctx, record(target)); err != nil {
			t.Fatal(err)
		}
	}
	verifyChain(t, a, nil)
	n, err := a.UseAuditKey(ctx, auditKey1, T0)
	if err != nil || n != 2 {
		t.Fatalf("re-chained %d (%v), want 2", n, err)
	}
	if got := verifyChain(t, b, auditKey1); got != 3 {
		t.Errorf("%d records after re-chaining, want 2 and the record of it", got)
	}
	page, _ := b.FindAudit(ctx, mfa.AuditFilter{Action: mfa.AuditRechain, Limit: 10})
	if len(page.Records) != 1 || !strings.Contains(page.Records[0].After, "was intact") {
		t.Errorf("the re-chaining's record: %+v", page.Records)
	}
	if err := b.AppendAudit(ctx, record("carl@contoso.com")); mfa.ErrorCode(err) != mfa.EUNAVAILABLE {
		t.Errorf("a replica without the key appended: %v", err)
	}
	if _, err := b.UseAuditKey(ctx, auditKey2, T0); mfa.ErrorCode(err) != mfa.EINVALID {
		t.Errorf("another key: %v", err)
	}
	if n, err := b.UseAuditKey(ctx, auditKey1, T0); err != nil || n != 0 {
		t.Errorf("the same key again: re-chained %d (%v)", n, err)
	}
	if err := b.AppendAudit(ctx, record("carl@contoso.com")); err != nil {
		t.Fatal(err)
	}
	if got := verifyChain(t, a, auditKey1); got != 4 {
		t.Errorf("%d records, want 4", got)
	}
	// The keyed log marked as legacy again (its chain recomputed without the key) is not
	// re-chained: that would seal whatever was forged under the key.
	if err := a.SetMeta(ctx, "audit_chain", ""); err != nil {
		t.Fatal(err)
	}
	if n, err := b.UseAuditKey(ctx, auditKey1, T0); err != mfa.ErrAuditMarkedLegacy || n != 0 {
		t.Errorf("a keyed log marked as legacy: re-chained %d (%v)", n, err)
	}
}

// On an empty log, the first key used is the log's: a replica given another is refused before
// either appends.
func testAuditKeyOfAnEmptyLog(t *testing.T, open TwinOpener) {
	a, b := open(t)
	ctx := context.Background()
	if n, err := a.UseAuditKey(ctx, auditKey1, T0); err != nil || n != 0 {
		t.Fatalf("first key: %d %v", n, err)
	}
	if _, err := b.UseAuditKey(ctx, auditKey2, T0); mfa.ErrorCode(err) != mfa.EINVALID {
		t.Errorf("a second key on the empty log: %v", err)
	}
}

// Two replicas appending at once, record by record, in bulk batches and with settings changes,
// make one unbroken chain.
func testAuditOneChain(t *testing.T, open TwinOpener) {
	a, b := open(t)
	ctx := context.Background()
	all := seedDemo(t, a, 40)
	for _, db := range []Store{a, b} {
		if _, err := db.UseAuditKey(ctx, auditKey1, T0); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i, db := range []Store{a, b, a, b} {
		wg.Go(func() {
			for j := range 15 {
				if err := db.AppendAudit(ctx, record("user@contoso.com")); err != nil {
					t.Error(err)
				}
				upns := []string{all[i*10+j%10].UPN, all[i*10+(j+1)%10].UPN}
				_, _, err := db.UpdateUsers(ctx, mfa.Refs(upns), func(_ int, u *mfa.User) (*mfa.AuditRecord, error) {
					u.AppPasswords++
					return record(u.UPN), nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := verifyChain(t, b, auditKey1); got != 4*15*3 {
		t.Errorf("%d records, want %d", got, 4*15*3)
	}
}

// The audit stream's positions: none at first, moved only from where the mover read them.
func testAuditPositions(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	if pos, err := db.AuditStreamed(ctx, "file:/a"); err != nil || pos != 0 {
		t.Fatalf("at first: %d %v", pos, err)
	}
	for _, step := range []struct {
		old, new int64
		moved    bool
	}{{0, 5, true}, {0, 7, false}, {5, 9, true}, {5, 11, false}} {
		if moved, err := db.SetAuditStreamed(ctx, "file:/a", step.old, step.new); err != nil || moved != step.moved {
			t.Errorf("%d → %d: moved %v (%v), want %v", step.old, step.new, moved, err, step.moved)
		}
	}
	if pos, _ := db.AuditStreamed(ctx, "file:/a"); pos != 9 {
		t.Errorf("position %d, want 9", pos)
	}
	if pos, _ := db.AuditStreamed(ctx, "syslog:local"); pos != 0 {
		t.Errorf("another sink's position %d", pos)
	}
}
