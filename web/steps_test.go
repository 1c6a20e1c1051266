package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mfaportal/mfaportal/mfa"
)

// stepUsers adds users with known states: a disabled user, an enabled admin.
func (e *testEnv) stepUsers() {
	e.t.Helper()
	svc := mfa.MustNewService(mfa.Deps{Directory: e.db, Importer: e.db, Accounts: e.db, Audit: e.db, Settings: e.db, Jobs: e.db})
	in := "UserPrincipalName,DisplayName,MFA Status,Admin\nstep.user@contoso.com,Step User,Disabled,false\nstep.admin@contoso.com,Step Admin,Enabled,true\n"
	if _, err := svc.ImportUsers(context.Background(), mfa.CLIActor, strings.NewReader(in), mfa.DefaultCSVLimits); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) user(upn string) *mfa.User {
	e.t.Helper()
	u, err := e.db.FindUser(context.Background(), upn)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *testEnv) postForm(c *http.Client, path string, form url.Values) (*http.Response, *goquery.Document) {
	e.t.Helper()
	resp, err := c.PostForm(e.srv.URL+path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	return resp, doc
}

func sel(u *mfa.User) string { return fmt.Sprintf("%d %s", u.Version, u.UPN) }

// confirm opens a step's dialog and returns the form it holds.
func (e *testEnv) confirm(c *http.Client, step string, sels ...string) (*http.Response, url.Values, *goquery.Document) {
	e.t.Helper()
	resp, doc := e.postForm(c, "/users/confirm", url.Values{"step": {step}, "sel": sels, "return": {"/users?view=all&status=any"}})
	form := url.Values{}
	doc.Find("#step-dialog input[type=hidden]").Each(func(_ int, s *goquery.Selection) {
		form.Add(s.AttrOr("name", ""), s.AttrOr("value", ""))
	})
	return resp, form, doc
}

func TestQuickStepFlowAndDoubleSubmit(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	resp, form, doc := e.confirm(c, "enable", sel(e.user("step.user@contoso.com")))
	if resp.StatusCode != 200 || doc.Find("#step-title").Text() != "About enabling multi-factor auth" {
		t.Fatalf("confirm: %d %q", resp.StatusCode, doc.Find("#step-title").Text())
	}
	if e.user("step.user@contoso.com").State != mfa.StateDisabled {
		t.Fatal("confirming changed the user")
	}
	form.Set("reason", "CHG-7")
	resp, _ = e.postForm(c, "/users/step", form)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/users?view=all&status=any&result=") {
		t.Fatalf("apply: %d %q", resp.StatusCode, loc)
	}
	if u := e.user("step.user@contoso.com"); u.State != mfa.StateEnabled {
		t.Fatalf("after apply: %s", u.State)
	}
	_, doc = e.get(c, loc)
	if doc.Find("#result-title").Text() != "Updates successful" || !strings.Contains(doc.Find("#result-dialog").Text(), "step.user@contoso.com") {
		t.Fatalf("result dialog: %q", doc.Find("#result-dialog").Text())
	}
	// The same form again (a double submit): applied once, same result, one audit record.
	resp, _ = e.postForm(c, "/users/step", form)
	if resp.Header.Get("Location") != loc {
		t.Fatalf("double submit went to %q", resp.Header.Get("Location"))
	}
	page, _ := e.db.FindAudit(context.Background(), mfa.AuditFilter{Target: "step.user@contoso.com", Action: mfa.AuditEnable, Limit: 10})
	if len(page.Records) != 1 || page.Records[0].Reason != "CHG-7" || page.Records[0].Source != "page" {
		t.Fatalf("audit: %+v", page.Records)
	}
}

func TestQuickStepStaleVersionIsRefused(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	seen := sel(e.user("step.user@contoso.com"))
	// Someone else changes the user meanwhile.
	svc := mfa.MustNewService(mfa.Deps{Directory: e.db, Accounts: e.db, Audit: e.db, Settings: e.db, Jobs: e.db})
	if _, _, err := svc.SetState(context.Background(), mfa.CLIActor, mfa.StateRequest{UPN: "step.user@contoso.com", To: mfa.StateEnabled}); err != nil {
		t.Fatal(err)
	}
	_, form, _ := e.confirm(c, "disable", seen)
	resp, _ := e.postForm(c, "/users/step", form)
	_, doc := e.get(c, resp.Header.Get("Location"))
	if doc.Find("#result-title").Text() != "Some updates were not made" || !strings.Contains(doc.Find("#result-dialog").Text(), "changed by someone else") {
		t.Fatalf("stale: %q", doc.Find("#result-dialog").Text())
	}
	if e.user("step.user@contoso.com").State != mfa.StateEnabled {
		t.Fatal("a stale change was applied")
	}
}

func TestQuickStepRoles(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	admin := e.user("step.admin@contoso.com")
	user := e.user("step.user@contoso.com")

	// A reader sees no steps and may not post them, even forged.
	reader := e.signedIn(mfa.RoleReader)
	_, doc := e.get(reader, "/users?view=all")
	if doc.Find("aside.quick button.step").Length() != 0 {
		t.Fatal("a reader is shown quick steps")
	}
	for _, step := range []string{"enable", "manage"} {
		resp, _ := e.postForm(reader, "/users/step", url.Values{"step": {step}, "sel": {sel(user)}, "op": {strings.Repeat("a", 32)}, "contactMethods": {"true"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("reader %s: %d", step, resp.StatusCode)
		}
	}
	// Helpdesk: only Manage user settings, and not on admins.
	hd := e.signedIn(mfa.RoleHelpdesk)
	_, doc = e.get(hd, "/users?view=all")
	if got := doc.Find("aside.quick button.step").Map(func(_ int, s *goquery.Selection) string { return s.Text() }); len(got) != 1 || got[0] != "Manage user settings" {
		t.Fatalf("helpdesk steps %q", got)
	}
	if resp, _, _ := e.confirm(hd, "enforce", sel(admin)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("helpdesk enforce: %d", resp.StatusCode)
	}
	_, form, _ := e.confirm(hd, "manage", sel(admin), sel(user))
	form.Set("rememberedDevices", "true")
	resp, _ := e.postForm(hd, "/users/step", form)
	_, doc = e.get(hd, resp.Header.Get("Location"))
	rows := doc.Find("#result-dialog tbody tr")
	if rows.Length() != 2 || !strings.Contains(rows.Eq(0).Text(), "refused") || !strings.Contains(rows.Eq(1).Text(), "changed") {
		t.Fatalf("helpdesk manage: %q", doc.Find("#result-dialog tbody").Text())
	}
	if !e.user("step.admin@contoso.com").RememberedDevicesNotBefore.IsZero() {
		t.Fatal("helpdesk changed an admin")
	}
	// An authentication admin is refused on the admin, allowed on the user.
	aa := e.signedIn(mfa.RoleAuthAdmin)
	_, form, _ = e.confirm(aa, "disable", sel(e.user("step.admin@contoso.com")))
	resp, _ = e.postForm(aa, "/users/step", form)
	_, doc = e.get(aa, resp.Header.Get("Location"))
	if !strings.Contains(doc.Find("#result-dialog").Text(), "holds an admin role") || e.user("step.admin@contoso.com").State != mfa.StateEnabled {
		t.Fatalf("auth admin on admin: %q", doc.Find("#result-dialog").Text())
	}
}

func TestQuickStepBadInput(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	user := e.user("step.user@contoso.com")
	cases := map[string]url.Values{
		"unknown quick step":        {"step": {"promote"}, "sel": {sel(user)}},
		"Select one or more":        {"step": {"enable"}},
		"selection is malformed":    {"step": {"enable"}, "sel": {"abc"}},
		"confirmation is not valid": {"step": {"enable"}, "sel": {sel(user)}, "op": {"nope"}},
	}
	for want, form := range cases {
		path := "/users/step"
		if want != "confirmation is not valid" {
			path = "/users/confirm"
		}
		form.Set("return", "https://evil.example/")
		resp, _ := e.postForm(c, path, form)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || loc != "/users" { // the notice is kept out of the URL
			t.Errorf("%s: %d %q", want, resp.StatusCode, loc)
			continue
		}
		_, doc := e.get(c, loc)
		if !strings.Contains(doc.Find(".notice").Text(), want) {
			t.Errorf("%s: notice %q", want, doc.Find(".notice").Text())
		}
	}
	if e.user("step.user@contoso.com").Version != user.Version {
		t.Fatal("bad input changed the user")
	}
	// A required reason that is missing: the dialog again, with the message next to the field.
	e.app.svc.RequireReason = true
	_, form, _ := e.confirm(c, "enable", sel(user))
	resp, doc := e.postForm(c, "/users/step", form)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(doc.Find("#step-error").Text(), "reason is required") {
		t.Fatalf("missing reason: %d %q", resp.StatusCode, doc.Find("#step-error").Text())
	}
	if e.user("step.user@contoso.com").State != mfa.StateDisabled {
		t.Fatal("changed without the required reason")
	}
}

func TestQuickStepAllMatchingUsers(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleGlobalAdmin)
	filter := "view=all&status=disabled&q=a"
	before, _ := e.db.FindUsers(context.Background(), mfa.UserFilter{View: mfa.ViewAll, Status: "disabled", Query: "a", Limit: 1000})
	resp, doc := e.postForm(c, "/users/confirm", url.Values{"step": {"enable"}, "all": {"1"}, "filter": {filter}, "return": {"/users?" + filter}})
	if resp.StatusCode != 200 || doc.Find("[data-testid=applicable]").Text() != fmt.Sprintf("%d users", before.Total) {
		t.Fatalf("confirm all: %d %q (want %d)", resp.StatusCode, doc.Find("[data-testid=applicable]").Text(), before.Total)
	}
	form := url.Values{}
	doc.Find("#step-dialog input[type=hidden]").Each(func(_ int, s *goquery.Selection) { form.Add(s.AttrOr("name", ""), s.AttrOr("value", "")) })
	e.postForm(c, "/users/step", form)
	after, _ := e.db.FindUsers(context.Background(), mfa.UserFilter{View: mfa.ViewAll, Status: "disabled", Query: "a", Limit: 1000})
	if before.Total < 2 || after.Total != 0 {
		t.Fatalf("all matching: %d before, %d after", before.Total, after.Total)
	}
}

func TestAPIStateAndReset(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	c := e.signedIn(mfa.RoleAuthAdmin)
	post := func(path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	v := e.user("step.user@contoso.com").Version
	code, out := post("/api/v1/users/step.user@contoso.com/state", fmt.Sprintf(`{"state":"ENABLED","reason":"api","version":%d}`, v))
	if code != 200 || out["changed"] != true || out["user"].(map[string]any)["perUserMfaState"] != "enabled" {
		t.Fatalf("set state: %d %v", code, out)
	}
	code, out = post("/api/v1/users/step.user@contoso.com/state", `{"state":"enabled"}`)
	if code != 200 || out["changed"] != false {
		t.Fatalf("no-op: %d %v", code, out)
	}
	for body, want := range map[string]struct {
		code  int
		field string
	}{
		fmt.Sprintf(`{"state":"disabled","version":%d}`, v): {409, ""},
		`{"state":"maybe"}`:              {400, "state"},
		`{}`:                             {400, "state"},
		`{"state":"disabled","extra":1}`: {400, "extra"},
		`{"state":true}`:                 {400, "state"},
		`not json`:                       {400, ""},
		``:                               {400, ""},
		`{"state":"disabled"}{"x":1}`:    {400, ""},
	} {
		code, out := post("/api/v1/users/step.user@contoso.com/state", body)
		if code != want.code || out["error"] == "" || (want.field != "" && out["field"] != want.field) {
			t.Errorf("%s: %d %v, want %d %s", body, code, out, want.code, want.field)
		}
	}
	if code, _ := post("/api/v1/users/step.admin@contoso.com/state", `{"state":"disabled"}`); code != 403 {
		t.Errorf("auth admin on admin: %d", code)
	}
	if code, _ := post("/api/v1/users/nobody@contoso.com/state", `{"state":"disabled"}`); code != 404 {
		t.Errorf("unknown user: %d", code)
	}
	code, out = post("/api/v1/users/step.user@contoso.com/reset", `{"rememberedDevices":true,"reason":"lost phone"}`)
	if code != 200 || out["user"].(map[string]any)["rememberedDevicesNotBefore"] == nil {
		t.Fatalf("reset: %d %v", code, out)
	}
	if code, out = post("/api/v1/users/step.user@contoso.com/reset", `{}`); code != 400 || out["field"] != "options" {
		t.Fatalf("empty reset: %d %v", code, out)
	}
	// The audit API shows both changes, newest first (after the user's import).
	resp, _ := c.Get(e.srv.URL + "/api/v1/audit?target=step.user@contoso.com")
	var audit struct {
		Records []mfa.AuditRecord `json:"records"`
	}
	json.NewDecoder(resp.Body).Decode(&audit)
	resp.Body.Close()
	if len(audit.Records) != 3 || audit.Records[2].Action != mfa.AuditUserImport || audit.Records[0].Action != mfa.AuditResetUser || audit.Records[1].Reason != "api" || audit.Records[1].ActorName != "authentication-admin" {
		t.Fatalf("audit: %+v", audit.Records)
	}
	// A reader may not change anything.
	r := e.signedIn(mfa.RoleReader)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/users/step.user@contoso.com/state", strings.NewReader(`{"state":"disabled"}`))
	resp, _ = r.Do(req)
	if resp.StatusCode != 403 {
		t.Fatalf("reader: %d", resp.StatusCode)
	}
}

func TestAuditPage(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	svc := mfa.MustNewService(mfa.Deps{Directory: e.db, Accounts: e.db, Audit: e.db, Settings: e.db, Jobs: e.db})
	svc.SetState(context.Background(), mfa.Actor{Name: "x", Role: mfa.RoleGlobalAdmin}, mfa.StateRequest{UPN: "step.user@contoso.com", To: mfa.StateEnabled, Reason: "=cmd()"})
	c := e.signedIn(mfa.RoleReader)
	_, doc := e.get(c, "/audit?target=STEP.USER@contoso.com&action=state.enable")
	if doc.Find("[data-testid=audit] tbody tr").Length() != 1 {
		t.Fatalf("audit page: %q", doc.Find("main").Text())
	}
	resp, doc := e.get(c, "/audit?since=yesterday")
	if resp.StatusCode != 400 || !strings.Contains(doc.Find("#audit-error").Text(), "expected YYYY-MM-DD") {
		t.Fatalf("bad date: %d %q", resp.StatusCode, doc.Find("#audit-error").Text())
	}
	resp, _ = e.get(c, "/audit?action=nope")
	if resp.StatusCode != 400 {
		t.Fatalf("bad action: %d", resp.StatusCode)
	}
	resp, err := c.Get(e.srv.URL + "/audit/export")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if !strings.Contains(b.String(), "'=cmd()") {
		t.Fatalf("export is not formula-safe:\n%s", b.String())
	}
}

// limitedSettings is the embedded directory's settings with a low quick-step limit, as a slow
// backend declares (Graph: 200).
type limitedSettings struct {
	mfa.SettingsStore
	step int
}

func (l limitedSettings) Capabilities() mfa.Capabilities {
	c := l.SettingsStore.Capabilities()
	c.StepUsers, c.StepUsersReason = l.step, "a test backend"
	return c
}

// Where the directory takes fewer users in a quick step than the view has, the page offers the
// export and bulk update instead of "Select all N matching users", and the server refuses more.
func TestQuickStepLimitShownAndEnforced(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleGlobalAdmin)
	_, doc := e.get(c, "/users?view=all&status=any")
	if doc.Find("#choose-all").Length() != 1 {
		t.Fatal("no 'Select all N matching users' under the embedded directory's limit")
	}
	e.app.svc.Settings = limitedSettings{SettingsStore: e.db, step: 5}
	_, doc = e.get(c, "/users?view=all&status=any")
	limit := doc.Find(".select-all-matching .limit")
	if doc.Find("#choose-all").Length() != 0 || !strings.Contains(limit.Text(), "at most 5 users here") ||
		!strings.HasPrefix(limit.Find("a").AttrOr("href", ""), "/users/export?") {
		t.Fatalf("over the limit: %q", limit.Text())
	}
	notice := func(form url.Values) string {
		t.Helper()
		resp, _ := e.postForm(c, "/users/confirm", form)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("confirm: %d", resp.StatusCode)
		}
		_, doc := e.get(c, loc)
		return doc.Text()
	}
	if body := notice(url.Values{"step": {"enable"}, "all": {"1"}, "filter": {"view=all&status=any"}, "return": {"/users"}}); !strings.Contains(body, "at most 5 here (a test backend)") {
		t.Fatalf("all matching over the limit: %q", body)
	}
	var sels []string
	for _, upn := range []string{"xss@contoso.com"} {
		sels = append(sels, sel(e.user(upn)))
	}
	for i := range 5 {
		sels = append(sels, fmt.Sprintf("1 extra%d@contoso.com", i))
	}
	if body := notice(url.Values{"step": {"enable"}, "sel": sels, "return": {"/users"}}); !strings.Contains(body, "6 users selected: a quick step acts on at most 5 here") {
		t.Fatalf("6 selected over a limit of 5: %q", body)
	}
}
