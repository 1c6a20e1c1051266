package storetest

import (
	"context"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// The notification template: the default until saved, each save from the version it read (a stale
// one is ECONFLICT and changes nothing), its audit record appended with it.
func testNotifyTemplate(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	if got, err := db.NotifyTemplate(ctx); err != nil || got != mfa.DefaultNotifyTemplate {
		t.Fatalf("before a save: %+v %v", got, err)
	}
	rec := func(s string) *mfa.AuditRecord {
		r := mfa.NewAuditRecord(admin, mfa.SourcePage, "", T0)
		r.Action, r.Target, r.After = mfa.AuditNotifyTemplate, "notify", s
		return &r
	}
	v, err := db.SaveNotifyTemplate(ctx, mfa.NotifyTemplate{Subject: "One", Body: "{link}"}, rec("one"))
	if err != nil || v != 1 {
		t.Fatalf("first save: %d %v", v, err)
	}
	if _, err := db.SaveNotifyTemplate(ctx, mfa.NotifyTemplate{Subject: "Stale", Body: "{link}"}, rec("stale")); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Errorf("a save from version 0 after version 1: %v", err)
	}
	if v, err = db.SaveNotifyTemplate(ctx, mfa.NotifyTemplate{Subject: "Two", Body: "{link} {days}", Version: 1}, rec("two")); err != nil || v != 2 {
		t.Fatalf("second save: %d %v", v, err)
	}
	if got, _ := db.NotifyTemplate(ctx); got != (mfa.NotifyTemplate{Subject: "Two", Body: "{link} {days}", Version: 2}) {
		t.Errorf("read back %+v", got)
	}
	page, _ := db.FindAudit(ctx, mfa.AuditFilter{Action: mfa.AuditNotifyTemplate, Limit: 10})
	if len(page.Records) != 2 || page.Records[0].After != "two" || page.Records[1].After != "one" {
		t.Errorf("records %+v", page.Records)
	}
}
