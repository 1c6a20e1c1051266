package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// TestOverviewTab counts the demo tenant against a count of its own, takes snapshots on two days
// through the chores runner, and draws them: an SVG with one line per state and the figures in a table.
func TestOverviewTab(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	in := "UserPrincipalName,DisplayName,MFA Status,Admin\nlax.admin@contoso.com,Lax Admin,Disabled,true\n"
	if _, err := e.app.svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader(in), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	var want mfa.OverviewCounts
	page, _ := e.db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Status: mfa.StatusAny, Limit: mfa.MaxLimit})
	for _, u := range page.Users {
		switch u.State {
		case mfa.StateEnabled:
			want.Enabled++
		case mfa.StateEnforced:
			want.Enforced++
		default:
			want.Disabled++
		}
		if u.Registered() {
			want.Registered++
		} else {
			want.NotRegistered++
		}
		if u.Privileged && u.State == mfa.StateDisabled {
			want.AdminsWithoutMFA++
		}
	}
	c := e.signedIn(mfa.RoleReader)
	_, doc := e.get(c, "/overview")
	if doc.Find(`[data-testid="no-snapshots"]`).Length() != 1 {
		t.Errorf("a chart before any snapshot")
	}
	for key, n := range map[string]int{"enabled": want.Enabled, "enforced": want.Enforced, "disabled": want.Disabled,
		"registered": want.Registered, "not-registered": want.NotRegistered, "admins-without-mfa": want.AdminsWithoutMFA} {
		if got := doc.Find(`[data-count="` + key + `"]`).Text(); got != fmt.Sprint(n) {
			t.Errorf("%s: %q, want %d", key, got, n)
		}
	}
	if want.AdminsWithoutMFA == 0 {
		t.Errorf("the demo tenant has no admin without MFA: the test shows nothing")
	}
	// A snapshot at start, one the next day after a change.
	chores := &mfa.Chores{Service: e.app.svc, OnError: func(msg string, err error) { t.Errorf("%s: %v", msg, err) }}
	chores.Round(ctx)
	e.now = e.now.Add(24 * time.Hour)
	first := page.Users[0]
	to := mfa.StateDisabled
	if first.State == mfa.StateDisabled {
		to = mfa.StateEnabled
	}
	e.app.svc.SetState(ctx, mfa.CLIActor, mfa.StateRequest{UPN: first.UPN, To: to})
	chores.Round(ctx)
	chores.Round(ctx)              // the same day again: no second snapshot
	c = e.signedIn(mfa.RoleReader) // the session of a day ago has expired
	_, doc = e.get(c, "/overview")

	if n := doc.Find(`svg[data-testid="chart"] polyline`).Length(); n != 3 {
		t.Errorf("%d lines in the chart", n)
	}
	if n := doc.Find(`svg[data-testid="chart"] circle`).Length(); n != 6 {
		t.Errorf("%d points in the chart, want 3 states × 2 days", n)
	}
	rows := doc.Find(`[data-testid="chart-table"] tbody tr`)
	if rows.Length() != 2 || !strings.HasPrefix(rows.Eq(0).Find("th").Text(), "2026-11-24") {
		t.Errorf("table %q", rows.Text())
	}
	if got := rows.Eq(0).Find("td").Eq(0).Text(); got != fmt.Sprint(want.Enabled) {
		t.Errorf("first day's Enabled %q, want %d", got, want.Enabled)
	}
	if doc.Find(`svg[role="img"][aria-labelledby]`).Length() != 1 || doc.Find("svg desc").Text() == "" {
		t.Errorf("the chart has no accessible name and description")
	}
}
