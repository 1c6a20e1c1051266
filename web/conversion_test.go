package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
)

// caSettings is the SQLite store as a directory that knows Conditional Access, as the Graph
// directory does (its index is the same store): the handlers see what they see on Graph.
type caSettings struct{ *sqlite.DB }

func (caSettings) Capabilities() mfa.Capabilities {
	c := mfa.AllCapabilities()
	c.ConditionalAccess = true
	return c
}

// newCAEnv is the test server over a directory with Conditional Access: every third user of the
// demo tenant required by CA001, every seventh report-only, and a summary of two policies. It
// answers the users covered (by user name).
func newCAEnv(t *testing.T) (*testEnv, map[string]bool) {
	e := newTestEnvDeps(t, func(d *mfa.Deps) { d.Settings = caSettings{d.Directory.(*sqlite.DB)} }, nil)
	ctx := context.Background()
	covered := map[string]bool{}
	i := 0
	for u := range mfa.DemoUsers(250) {
		c := mfa.Coverage{Status: mfa.CANotRequired}
		switch {
		case i%3 == 0:
			c = mfa.Coverage{Status: mfa.CARequired, Policies: []string{"CA001: all users"}}
			covered[u.UPN] = true
		case i%7 == 0:
			c = mfa.Coverage{Status: mfa.CAReportOnly, Policies: []string{"CA004: service accounts"}}
		}
		i++
		if _, err := e.db.UpdateUser(ctx, u.UPN, func(u *mfa.User) (*mfa.AuditRecord, error) {
			u.Coverage = c
			return &mfa.AuditRecord{Action: "test", Target: u.UPN}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	err := e.db.SaveConditionalAccess(ctx, mfa.ConditionalAccessSummary{ReadAt: e.now, Read: true, Policies: []mfa.CAPolicyReport{
		{ID: "1", Name: "CA001: all users", State: mfa.CAPolicyEnabled, Counts: true, Targets: "all users", Excludes: "2 users"},
		{ID: "2", Name: "CA006: <outside> trusted locations", State: mfa.CAPolicyEnabled, WhyNot: "applies in some locations only", Targets: "all users"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return e, covered
}

// countCovered counts the covered users in per-user MFA, by state.
func countCovered(t *testing.T, e *testEnv, covered map[string]bool) (enabled, enforced int) {
	for upn := range covered {
		switch e.user(upn).State {
		case mfa.StateEnabled:
			enabled++
		case mfa.StateEnforced:
			enforced++
		}
	}
	return enabled, enforced
}

// The move to Conditional Access page: counts, the first users, the gap, the policies with why one
// does not count; the tab for the bulk update roles only; the plan goes to its verify page with
// one row per covered user in per-user MFA.
func TestConversionPage(t *testing.T) {
	e, covered := newCAEnv(t)
	enabled, enforced := countCovered(t, e, covered)
	c := e.signedIn(mfa.RoleGlobalAdmin)
	resp, doc := e.get(c, "/conditional-access")
	if resp.StatusCode != 200 || doc.Find(`nav.tabs a[aria-current="page"]`).Text() != "move to Conditional Access" {
		t.Fatalf("%d, tab %q", resp.StatusCode, doc.Find("nav.tabs").Text())
	}
	if got := doc.Find(`[data-testid="to-convert"] strong`).Text(); got != usersWordForTest(enabled+enforced) {
		t.Errorf("to convert %q, want %d (%d + %d)", got, enabled+enforced, enabled, enforced)
	}
	if n := doc.Find(`[data-testid="covered-users"] tbody tr`).Length(); n != min(enabled, 25)+min(enforced, 25) {
		t.Errorf("%d covered users listed", n)
	}
	doc.Find(`[data-testid="gap-users"] tbody tr td:nth-child(2)`).Each(func(_ int, s *goquery.Selection) {
		if covered[s.Text()] {
			t.Errorf("%s is covered but listed in the gap", s.Text())
		}
	})
	policies := doc.Find(`[data-testid="policies"] tbody tr`)
	if policies.Length() != 2 || !strings.Contains(policies.Eq(1).Text(), "No: applies in some locations only") ||
		!strings.Contains(policies.Eq(1).Text(), "<outside>") {
		t.Errorf("policies: %q", policies.Text())
	}
	// Readers and the helpdesk may not.
	for _, role := range []mfa.Role{mfa.RoleReader, mfa.RoleHelpdesk} {
		rc := e.signedIn(role)
		if resp, _ := e.get(rc, "/conditional-access"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d", role, resp.StatusCode)
		}
		if _, doc := e.get(rc, "/users"); strings.Contains(doc.Find("nav.tabs").Text(), "Conditional Access") {
			t.Errorf("%s sees the tab", role)
		}
	}

	// The plan: its verify page.
	resp, _ = e.postForm(c, "/conditional-access/plan", map[string][]string{"reason": {"CHG-7"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/bulk/") {
		t.Fatalf("plan: %d %q", resp.StatusCode, loc)
	}
	job, err := e.app.svc.GetBulkJob(context.Background(), mfa.CLIActor, strings.TrimPrefix(loc, "/bulk/"))
	if err != nil || job.Counts.Disable+job.Counts.Errors != enabled+enforced || job.FileName != mfa.ConversionFileName || job.Reason != "CHG-7" {
		t.Fatalf("job: %+v %v", job, err)
	}
	if resp, doc := e.get(c, loc); resp.StatusCode != 200 || !strings.Contains(doc.Text(), mfa.ConversionFileName) {
		t.Errorf("verify page: %d", resp.StatusCode)
	} else if got := strings.Join(strings.Fields(doc.Find(`[data-testid="rows-total"]`).Text()), " "); got != fmt.Sprintf("%d rows in the plan:", enabled+enforced) ||
		doc.Find(`ol.wizard li`).First().Text() != "Plan the move" {
		t.Errorf("verify page of a plan from no file: %q, first step %q", got, doc.Find(`ol.wizard li`).First().Text())
	}
	// A reason too long is refused next to the button, nothing planned.
	resp, doc = e.postForm(c, "/conditional-access/plan", map[string][]string{"reason": {strings.Repeat("x", 501)}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(doc.Find("#plan-error").Text(), "at most 500") {
		t.Errorf("long reason: %d %q", resp.StatusCode, doc.Find("#plan-error").Text())
	}
}

func usersWordForTest(n int) string {
	if n == 1 {
		return "1 user"
	}
	return thousandsForTest(n) + " users"
}

// The users page, the user page, the API and the export show each user's coverage and filter by
// it; the enable and enforce dialogs warn about covered users.
func TestCoverageShown(t *testing.T) {
	e, covered := newCAEnv(t)
	c := e.signedIn(mfa.RoleGlobalAdmin)
	_, doc := e.get(c, "/users?view=all&coverage=ca&limit=250")
	if doc.Find(`table.users th:contains("CONDITIONAL ACCESS")`).Length() != 1 || doc.Find(`select#coverage`).Length() != 1 {
		t.Fatal("no coverage column or filter")
	}
	rows := doc.Find("table.users tbody tr")
	if rows.Length() != len(covered) {
		t.Errorf("coverage=ca lists %d users, want %d", rows.Length(), len(covered))
	}
	rows.Each(func(_ int, s *goquery.Selection) {
		if s.Find(`[data-coverage="required"]`).Length() != 1 {
			t.Errorf("row without the required badge: %q", s.Text())
		}
	})
	var upn string
	for u := range covered {
		upn = u
		break
	}
	_, doc = e.get(c, "/users/"+upn)
	if got := doc.Find(`[data-testid="user-coverage"]`).Text(); !strings.Contains(got, "CA001: all users") {
		t.Errorf("user page: %q", got)
	}
	// API.
	u := getJSON(t, c, e.srv.URL+"/api/v1/users/"+upn)
	ca, _ := u["conditionalAccess"].(map[string]any)
	if ca["status"] != "required" || ca["policies"].([]any)[0] != "CA001: all users" || u["securityDefaults"] != false {
		t.Errorf("API user: %v", u)
	}
	list, _ := e.apiList(c, "coverage=none&limit=1")
	if list.Total != 251-len(covered) {
		t.Errorf("coverage=none: %d, want %d", list.Total, 251-len(covered))
	}
	// Export.
	resp, err := c.Get(e.srv.URL + "/users/export?view=all&coverage=ca")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(body)), "\r\n")
	if !strings.HasSuffix(lines[0], "Conditional Access,Conditional Access Policies,Security Defaults") || len(lines) != len(covered)+1 ||
		!strings.HasSuffix(lines[1], ",required,CA001: all users,false") {
		t.Errorf("export: %q (%d lines)", lines[:2], len(lines))
	}
	// The enable dialog warns about a Disabled covered user.
	var target *mfa.User
	for upn := range covered {
		if u := e.user(upn); u.State == mfa.StateDisabled && !u.Privileged {
			target = u
			break
		}
	}
	_, _, doc = e.confirm(c, "enable", sel(target))
	if w := doc.Find(`[data-testid="warn-covered"]`); w.Length() != 1 || !strings.Contains(w.Text(), target.UPN) {
		t.Errorf("enable dialog: %q", doc.Find("#step-dialog").Text())
	}
}

// On the embedded directory nothing of Conditional Access appears, and the filter is refused where
// it is given.
func TestNoCoverageOnEmbedded(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleGlobalAdmin)
	_, doc := e.get(c, "/users?view=all&coverage=ca")
	if doc.Find(`select#coverage`).Length() != 0 || doc.Find(`table.users th:contains("CONDITIONAL ACCESS")`).Length() != 0 ||
		strings.Contains(doc.Find("nav.tabs").Text(), "Conditional Access") {
		t.Error("Conditional Access shown on the embedded directory")
	}
	if !strings.Contains(doc.Find("p.notice").Text(), "not available with this directory") {
		t.Errorf("notices: %q", doc.Find("p.notice").Text())
	}
	// The page does not exist for this directory: 404 saying why (503 read as "try again later").
	for _, page := range []struct{ method, path string }{{"GET", "/conditional-access"}, {"POST", "/conditional-access/plan"}} {
		var resp *http.Response
		var doc *goquery.Document
		if page.method == "GET" {
			resp, doc = e.get(c, page.path)
		} else {
			resp, doc = e.postForm(c, page.path, nil)
		}
		if msg := strings.Join(strings.Fields(doc.Find("main").Text()), " "); resp.StatusCode != http.StatusNotFound ||
			!strings.Contains(msg, "This directory has no Conditional Access: the move to Conditional Access needs the Microsoft Graph directory.") {
			t.Errorf("%s %s: %d %q", page.method, page.path, resp.StatusCode, msg)
		}
	}
	var out struct{ Error, Field string }
	if _, status := e.apiList(c, "coverage=ca", &out); status != 400 || out.Field != "coverage" {
		t.Errorf("API: %d %+v", status, out)
	}
	if u := getJSON(t, c, e.srv.URL+"/api/v1/users/xss@contoso.com"); u["conditionalAccess"] != nil || u["userPrincipalName"] != "xss@contoso.com" {
		t.Errorf("API user on the embedded directory: %v", u)
	}
}

func getJSON(t *testing.T, c *http.Client, url string) map[string]any {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return out
}

// A user whom security defaults cover (and no policy) shows as covered: the security defaults
// badge alone, not "Not required" beside it, in the users table and on the user page.
func TestSecurityDefaultsShown(t *testing.T) {
	e, covered := newCAEnv(t)
	var upn string
	for u := range mfa.DemoUsers(250) {
		if !covered[u.UPN] && e.user(u.UPN).Coverage.Status == mfa.CANotRequired {
			upn = u.UPN
			break
		}
	}
	if _, err := e.db.UpdateUser(context.Background(), upn, func(u *mfa.User) (*mfa.AuditRecord, error) {
		u.Coverage = mfa.Coverage{Status: mfa.CANotRequired, SecurityDefaults: true}
		return &mfa.AuditRecord{Action: "test", Target: u.UPN}, nil
	}); err != nil {
		t.Fatal(err)
	}
	c := e.signedIn(mfa.RoleGlobalAdmin)
	_, doc := e.get(c, "/users?view=all&coverage=ca&q="+upn)
	row := doc.Find("table.users tbody tr")
	if row.Length() != 1 || row.Find(`[data-testid="security-defaults"]`).Length() != 1 || row.Find("[data-coverage]").Length() != 0 {
		t.Errorf("users table: %q", row.Text())
	}
	_, doc = e.get(c, "/users/"+upn)
	if got := doc.Find(`[data-testid="user-coverage"]`).Text(); strings.Contains(got, "Not required") || !strings.Contains(got, "Security defaults are on") {
		t.Errorf("user page: %q", got)
	}
}
