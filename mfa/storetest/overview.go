package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// The overview's counts match a count of the users, after changes; a day's snapshot replaces the
// day's earlier one and the snapshots are listed from a day on, oldest first.
func testOverview(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	all := seedDemo(t, db, 500)
	svc := newService(t, db) // and its four users
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "dis@contoso.com", To: mfa.StateEnabled}); err != nil {
		t.Fatal(err) // re-enabled holding a method: not registered
	}
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "boss@contoso.com", To: mfa.StateDisabled}); err != nil {
		t.Fatal(err) // an admin without MFA
	}
	p, err := db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Limit: mfa.MaxLimit})
	if err != nil || len(p.Users) != len(all)+4 {
		t.Fatalf("%d users, %v", len(p.Users), err)
	}
	var want mfa.OverviewCounts
	for _, u := range p.Users {
		switch u.State {
		case mfa.StateEnabled:
			want.Enabled++
		case mfa.StateEnforced:
			want.Enforced++
		default:
			want.Disabled++
			if u.Privileged {
				want.AdminsWithoutMFA++
			}
		}
		if u.Registered() {
			want.Registered++
		} else {
			want.NotRegistered++
		}
	}
	got, err := db.CountOverview(ctx)
	if err != nil || got != want {
		t.Fatalf("counts %+v %v, want %+v", got, err, want)
	}
	day := func(d int, enabled int) mfa.OverviewCounts {
		return mfa.OverviewCounts{Day: T0.AddDate(0, 0, d).Format(time.DateOnly), TakenAt: T0.AddDate(0, 0, d), Enabled: enabled}
	}
	for _, c := range []mfa.OverviewCounts{day(0, 1), day(1, 2), day(2, 3), day(1, 5)} {
		if err := db.SaveSnapshot(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	snaps, err := db.Snapshots(ctx, day(1, 0).Day)
	if err != nil || !slices.Equal(snaps, []mfa.OverviewCounts{day(1, 5), day(2, 3)}) {
		t.Errorf("snapshots %+v %v", snaps, err)
	}
}
