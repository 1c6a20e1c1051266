package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// SameStore checks that copy holds what k.Store holds, through every interface that reads it: the
// users with every field, the audit log record by record (and its chain under the key), accounts
// with their authenticator, tokens, jobs with their rows, settings, security info, exemptions,
// snapshots, the notify template, meta, throttle counters, the remote index and its sync, and the
// counts the pages read. Admin and user sessions are not compared: a copy may leave them behind.
func SameStore(t *testing.T, k EveryKind, copy Store) {
	t.Helper()
	ctx, src := context.Background(), k.Store
	same := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s differ:\ncopy %s\nsource %s", what, show(got), show(want))
		}
	}
	read := func(db Store) (users []*mfa.User, audit []*mfa.AuditRecord) {
		f := mfa.UserFilter{View: mfa.ViewAll, Limit: mfa.MaxLimit}
		for {
			p, err := db.FindUsers(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, p.Users...)
			if f.After = p.NextCursor; f.After == "" {
				break
			}
		}
		db.EachAudit(ctx, 0, func(r *mfa.AuditRecord) error { audit = append(audit, r); return nil })
		return users, audit
	}
	su, sa := read(src)
	cu, ca := read(copy)
	same("users", cu, su)
	same("audit records", ca, sa)
	if got := verifyChain(t, copy, k.AuditKey); got != int64(len(sa)) {
		t.Errorf("%d records verified on the copy, want %d", got, len(sa))
	}
	for _, u := range su {
		sd, _ := src.SecurityDetails(ctx, u.ID)
		cd, _ := copy.SecurityDetails(ctx, u.ID)
		same("security details of "+u.UPN, cd, sd)
		_, sh, _ := src.FindCredentials(ctx, u.UPN)
		_, ch, _ := copy.FindCredentials(ctx, u.UPN)
		same("password of "+u.UPN, ch, sh)
	}
	if u, err := copy.FindSetupLink(ctx, mfa.HashToken(k.SetupLink), T0); err != nil || u.UPN != "bob@contoso.com" {
		t.Errorf("setup link on the copy: %+v %v", u, err)
	}
	if id, at, err := copy.FindRememberedDevice(ctx, mfa.HashToken(k.Device)); err != nil || at.IsZero() || id == "" {
		t.Errorf("remembered device on the copy: %q %v %v", id, at, err)
	}
	samePortal(t, k, copy, same)
}

// samePortal compares the portal's own data.
func samePortal(t *testing.T, k EveryKind, copy Store, same func(string, any, any)) {
	t.Helper()
	ctx, src := context.Background(), k.Store
	two := func(what string, fn func(Store) (any, error)) {
		t.Helper()
		want, err := fn(src)
		if err != nil {
			t.Fatalf("%s of the source: %v", what, err)
		}
		got, err := fn(copy)
		if err != nil {
			t.Fatalf("%s of the copy: %v", what, err)
		}
		same(what, got, want)
	}
	two("accounts", func(db Store) (any, error) { return db.ListAccounts(ctx) })
	two("helen's authenticator", func(db Store) (any, error) {
		s, at, err := db.AccountTOTP(ctx, "helen")
		return []any{s, at}, err
	})
	two("tokens", func(db Store) (any, error) { return db.ListTokens(ctx) })
	two("settings", func(db Store) (any, error) { return db.LoadSettings(ctx) })
	jobs, _ := src.ListJobs(ctx, 100)
	two("jobs", func(db Store) (any, error) {
		js, err := db.ListJobs(ctx, 100)
		// Jobs created in the same millisecond (the tests' clock stands still) come in no set order.
		slices.SortFunc(js, func(a, b *mfa.Job) int { return strings.Compare(a.ID, b.ID) })
		return js, err
	})
	for _, j := range jobs {
		two("rows of job "+j.ID, func(db Store) (any, error) { return db.JobRows(ctx, j.ID, mfa.RowFilter{Limit: 1000}) })
	}
	two("exemptions", func(db Store) (any, error) { return db.ListExemptions(ctx, time.Time{}, 100) })
	two("snapshots", func(db Store) (any, error) { return db.Snapshots(ctx, "2000-01-01") })
	two("overview", func(db Store) (any, error) { return db.CountOverview(ctx) })
	two("notify template", func(db Store) (any, error) { return db.NotifyTemplate(ctx) })
	two("registration list", func(db Store) (any, error) {
		return db.AwaitingRegistration(ctx, mfa.RegistrationFilter{Limit: 1000, NoTotal: true})
	})
	two("meta", func(db Store) (any, error) { return db.Meta(ctx, "directory") })
	two("throttle counters", func(db Store) (any, error) { return db.LoadThrottle(ctx, "user", k.Throttled) })
	two("sync state", func(db Store) (any, error) {
		st, gen, err := db.SyncState(ctx)
		return []any{st, gen}, err
	})
	two("external ids", func(db Store) (any, error) { return db.ExternalIDs(ctx, []string{"graph.user@contoso.com"}) })
	two("conditional access", func(db Store) (any, error) { return db.ConditionalAccess(ctx) })
	for _, f := range []mfa.UserFilter{{View: mfa.ViewAllowed, Status: "enforced"}, {Query: "a", Privileged: mfa.PrivilegedNo},
		{Coverage: mfa.CoverageCA}, {Methods: mfa.MethodsNone, Sort: mfa.SortStatus, Order: mfa.OrderDesc}} {
		f.Limit = 20
		two("a page", func(db Store) (any, error) {
			p, err := db.FindUsers(ctx, f)
			if p != nil {
				p.NextCursor, p.PrevCursor = "", "" // each store's own
			}
			return p, err
		})
	}
}

// show prints v with what its pointers point to.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}
