package storetest

import (
	"context"
	"slices"
	"strings"
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
	CoverSome(t, db)         // an admin covered by Conditional Access is not without MFA
	svc := newService(t, db) // and its four users
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "dis@contoso.com", To: mfa.StateEnabled}); err != nil {
		t.Fatal(err) // re-enabled holding a method: not registered
	}
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "boss@contoso.com", To: mfa.StateDisabled}); err != nil {
		t.Fatal(err) // an admin without MFA
	}
	blockedAdmin := "UserPrincipalName,DisplayName,MFA Status,AccountEnabled,Admin\nlocked.boss@contoso.com,Locked Boss,Disabled,false,true\n"
	if _, err := svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader(blockedAdmin), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err) // blocked: no password signs them in
	}
	p, err := db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Limit: mfa.MaxLimit})
	if err != nil || len(p.Users) != len(all)+5 {
		t.Fatalf("%d users, %v", len(p.Users), err)
	}
	var want mfa.OverviewCounts
	var blocked, covered int // admins Disabled or Enabled left out, and why
	for _, u := range p.Users {
		switch u.State {
		case mfa.StateEnabled:
			want.Enabled++
		case mfa.StateEnforced:
			want.Enforced++
		default:
			want.Disabled++
		}
		// Admins a password alone signs in: sign-in allowed, not Enforced, not covered.
		if u.Privileged && u.State != mfa.StateEnforced {
			switch {
			case !u.AccountEnabled:
				blocked++
			case u.Coverage.Covered():
				covered++
			case u.State == mfa.StateEnabled:
				want.AdminsEnabled++
			default:
				want.AdminsDisabled++
			}
		}
		if u.Registered() {
			want.Registered++
		} else {
			want.NotRegistered++
		}
	}
	want.AdminsWithoutMFA = want.AdminsDisabled + want.AdminsEnabled
	if want.AdminsDisabled == 0 || want.AdminsEnabled == 0 || blocked == 0 || covered == 0 {
		t.Fatalf("the tenant tests too little: admins without MFA %+v, blocked %d, covered %d", want, blocked, covered)
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
