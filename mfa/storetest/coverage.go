package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// CoverSome gives every third user a Conditional Access coverage (required, report-only or, with
// security defaults, none), through the store's writer.
func CoverSome(t testing.TB, db Store) {
	t.Helper()
	ctx := context.Background()
	p, err := db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Limit: mfa.MaxLimit})
	for i := 0; err == nil; i++ {
		for j, u := range p.Users {
			var c mfa.Coverage
			switch (i*mfa.MaxLimit + j) % 6 {
			case 0:
				c = mfa.Coverage{Status: mfa.CARequired, Policies: []string{"CA001", "CA002"}}
			case 3:
				c = mfa.Coverage{Status: mfa.CAReportOnly, Policies: []string{"CA004"}}
			case 4:
				c = mfa.Coverage{Status: mfa.CANotRequired, SecurityDefaults: true}
			default:
				continue
			}
			if _, err := db.UpdateUser(ctx, u.UPN, func(u *mfa.User) (*mfa.AuditRecord, error) {
				u.Coverage = c
				return &mfa.AuditRecord{Action: "test", Target: u.UPN}, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		if p.NextCursor == "" {
			return
		}
		p, err = db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Limit: mfa.MaxLimit, After: p.NextCursor})
	}
	t.Fatal(err)
}

// Coverage is kept with the user, read back as written, counted under the coverage filter, kept by a
// state change; the tenant's summary is kept, replaced.
func testCoverageKept(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	seedDemo(t, db, 120)
	CoverSome(t, db)
	covered, notCovered := 0, 0
	all, err := db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range all.Users {
		if u.Coverage.Covered() {
			covered++
		} else {
			notCovered++
		}
	}
	if covered != 40 {
		t.Fatalf("%d covered users, want 40", covered)
	}
	for cov, want := range map[mfa.CoverageFilter]int{mfa.CoverageCA: covered, mfa.CoverageNone: notCovered} {
		p, err := db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Coverage: cov, Limit: 10})
		if err != nil || p.Total != want {
			t.Fatalf("coverage=%s: %v %v, want %d", cov, p.Total, err, want)
		}
	}
	u, err := db.FindUser(ctx, all.Users[0].UPN)
	if err != nil || u.Coverage.Status == "" {
		t.Fatalf("%+v %v", u, err)
	}
	// A state change keeps the coverage (the narrow write) and the counts follow it.
	if _, _, err := db.UpdateUsers(ctx, mfa.Refs([]string{all.Users[0].UPN, all.Users[4].UPN}), func(i int, u *mfa.User) (*mfa.AuditRecord, error) {
		u.State = mfa.StateEnforced
		return &mfa.AuditRecord{Action: "test", Target: u.UPN}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if after, _ := db.FindUser(ctx, all.Users[0].UPN); !reflect.DeepEqual(after.Coverage, u.Coverage) {
		t.Errorf("coverage after a state change: %+v, was %+v", after.Coverage, u.Coverage)
	}
	if p, err := db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Coverage: mfa.CoverageCA, Limit: 10}); err != nil || p.Total != covered {
		t.Errorf("covered after a state change: %v %v", p.Total, err)
	}

	// The tenant's summary.
	s := mfa.ConditionalAccessSummary{ReadAt: time.Unix(1700000000, 0).UTC(), Read: true, SecurityDefaults: true,
		Policies:         []mfa.CAPolicyReport{{ID: "p1", Name: "CA001", State: mfa.CAPolicyEnabled, Counts: true, Targets: "all users"}},
		RegistrationNote: "no licence"}
	if got, err := db.ConditionalAccess(ctx); err != nil || got.Read {
		t.Fatalf("before any: %+v %v", got, err)
	}
	for range 2 {
		if err := db.SaveConditionalAccess(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := db.ConditionalAccess(ctx); err != nil || !got.ReadAt.Equal(s.ReadAt) || len(got.Policies) != 1 || got.RegistrationNote != "no licence" {
		t.Fatalf("summary: %+v %v", got, err)
	}
}

// Methods from the registration report (MethodsAt) replace the indexed ones only when those were
// not read later: a change the portal made and read back after the report's record is kept. The
// coverage is indexed with the user and kept when not read.
func testIndexMethodsFromReport(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	t1 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	phone := []mfa.Method{{Type: mfa.MethodMobilePhone, IsDefault: true}}
	app := []mfa.Method{{Type: mfa.MethodAuthenticatorPush, IsDefault: true}}
	u := mfa.ExternalUser{ExternalID: "11111111-1111-1111-1111-111111111111", UPN: "ada@contoso.com", DisplayName: "Ada",
		AccountEnabled: true, StateRead: true, State: mfa.StateEnforced, Methods: phone, DefaultRead: true, ReadAt: t1,
		CoverageRead: true, Coverage: mfa.Coverage{Status: mfa.CARequired, Policies: []string{"CA001"}}}
	if err := db.IndexUsers(ctx, []mfa.ExternalUser{u}, 1); err != nil {
		t.Fatal(err)
	}
	// A sync an hour later whose report record is from before t1: the methods read at t1 stay.
	u.ReadAt, u.MethodsAt, u.Methods, u.CoverageRead = t1.Add(time.Hour), t1.Add(-time.Hour), app, false
	if err := db.IndexUsers(ctx, []mfa.ExternalUser{u}, 2); err != nil {
		t.Fatal(err)
	}
	got, _ := db.FindUser(ctx, u.UPN)
	if got.Methods[0].Type != mfa.MethodMobilePhone || !got.StateReadAt.Equal(u.ReadAt) || got.Coverage.Status != mfa.CARequired {
		t.Fatalf("an older record replaced newer methods: %+v", got)
	}
	// A record from after t1 replaces them.
	u.ReadAt, u.MethodsAt = t1.Add(2*time.Hour), t1.Add(90*time.Minute)
	u.CoverageRead, u.Coverage = true, mfa.Coverage{Status: mfa.CANotRequired}
	if err := db.IndexUsers(ctx, []mfa.ExternalUser{u}, 3); err != nil {
		t.Fatal(err)
	}
	got, _ = db.FindUser(ctx, u.UPN)
	if got.Methods[0].Type != mfa.MethodAuthenticatorPush || got.Coverage.Status != mfa.CANotRequired || len(got.Coverage.Policies) != 0 {
		t.Fatalf("a newer record: %+v", got)
	}
}

// The coverage filter in every view × status × admins × sort × order, with each search, forwards
// and backwards, against the reference (the conformance suite's combinations, with coverage).
func testFindUsersCoverageCombinations(t *testing.T, open Opener) {
	db := open(t)
	SeedCombinations(t, db)
	CoverSome(t, db)
	var filters []mfa.UserFilter
	for _, f := range Combinations(CombinationSearches, 41) {
		if f.Methods != mfa.MethodsAny {
			continue
		}
		for _, cov := range []mfa.CoverageFilter{mfa.CoverageCA, mfa.CoverageNone} {
			f.Coverage = cov
			if f.Query == "" || f.Query == "a" {
				f.Limit = 97
			}
			filters = append(filters, f)
		}
	}
	CheckCombinations(t, db, filters)
}
