package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

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
		if u.Privileged && u.AccountEnabled && u.State != mfa.StateEnforced { // no Conditional Access here
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
	checkAdminsWithoutMFALinks(t, e, c, doc, want.AdminsWithoutMFA)
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

// checkAdminsWithoutMFALinks checks that the overview's definition of admins without MFA links to
// users-page filters listing exactly the admins counted: each link's total is the figure it shows,
// and the totals add up to the count.
func checkAdminsWithoutMFALinks(t *testing.T, e *testEnv, c *http.Client, doc *goquery.Document, want int) {
	t.Helper()
	if got := doc.Find(`[data-count="admins-without-mfa"]`).Text(); got != fmt.Sprint(want) {
		t.Errorf("admins without MFA: %q, want %d", got, want)
	}
	links := doc.Find(`[data-testid="admins-without-mfa"] a`)
	sum := 0
	for i := range links.Length() {
		href, _ := links.Eq(i).Attr("href")
		_, query, _ := strings.Cut(href, "?")
		l, code := e.apiList(c, query)
		if !strings.HasPrefix(href, "/users?") || code != 200 || !strings.Contains(links.Eq(i).Text(), fmt.Sprintf("(%d)", l.Total)) {
			t.Errorf("link %q %q: %d, total %d", links.Eq(i).Text(), href, code, l.Total)
		}
		sum += l.Total
	}
	if links.Length() != 2 || sum != want {
		t.Errorf("%d links listing %d admins, want 2 listing %d: %q", links.Length(), sum, want,
			strings.Join(strings.Fields(doc.Find(`[data-testid="admins-without-mfa"]`).Text()), " "))
	}
}

// Where Conditional Access requires MFA of an admin, they are not without MFA, whatever their
// per-user state (Microsoft: covered users may appear Disabled); nor is an admin whose sign-in is
// blocked, nor an Enforced one.
func TestOverviewAdminsWithoutMFAUnderConditionalAccess(t *testing.T) {
	e, covered := newCAEnv(t)
	ctx := context.Background()
	in := "UserPrincipalName,DisplayName,MFA Status,AccountEnabled,Admin\n" +
		"ca.boss@contoso.com,CA Boss,Disabled,true,true\nlocked.boss@contoso.com,Locked Boss,Enabled,false,true\n" +
		"open.boss@contoso.com,Open Boss,Disabled,true,true\n"
	if _, err := e.app.svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader(in), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.UpdateUser(ctx, "ca.boss@contoso.com", func(u *mfa.User) (*mfa.AuditRecord, error) {
		u.Coverage = mfa.Coverage{Status: mfa.CARequired, Policies: []string{"CA002: admins"}}
		return &mfa.AuditRecord{Action: "test", Target: u.UPN}, nil
	}); err != nil {
		t.Fatal(err)
	}
	covered["ca.boss@contoso.com"] = true
	users := slices.Collect(mfa.DemoUsers(250))
	users = append(users, mfa.User{UPN: "ca.boss@contoso.com", AccountEnabled: true, Privileged: true},
		mfa.User{UPN: "locked.boss@contoso.com", State: mfa.StateEnabled, Privileged: true},
		mfa.User{UPN: "open.boss@contoso.com", AccountEnabled: true, Privileged: true})
	want, left := 0, 0
	for _, u := range users {
		if !u.Privileged || u.State == mfa.StateEnforced {
			continue
		}
		if covered[u.UPN] || !u.AccountEnabled {
			left++
			continue
		}
		want++
	}
	if want == 0 || left == 0 {
		t.Fatalf("the tenant tests too little: %d admins without MFA, %d left out", want, left)
	}
	c := e.signedIn(mfa.RoleReader)
	_, doc := e.get(c, "/overview")
	checkAdminsWithoutMFALinks(t, e, c, doc, want)
	if text := doc.Find(`[data-testid="admins-without-mfa"]`).Text(); !strings.Contains(text, "Conditional Access") {
		t.Errorf("the definition does not say Conditional Access counts: %q", strings.Join(strings.Fields(text), " "))
	}
}
