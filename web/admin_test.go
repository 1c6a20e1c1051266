package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mfaportal/mfaportal/mfa"
)

// apiCall makes an API request with an Authorization header (no cookies) and decodes the JSON.
func (e *testEnv) apiCall(method, path, auth, body string, header ...string) (int, map[string]any, http.Header) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func TestTokensPageCreatesShowsOnceAndRevokes(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	admin := e.signedIn(mfa.RoleGlobalAdmin)
	resp, doc := e.get(admin, "/tokens")
	if resp.StatusCode != 200 || doc.Find("nav.tabs a[aria-current=page]").Text() != "API tokens" || doc.Find("[data-testid=empty]").Length() != 1 {
		t.Fatalf("tokens page: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	if got := doc.Find("nav.tabs a").Map(func(_ int, s *goquery.Selection) string { return s.Text() }); !slices.Equal(got, []string{"users", "service settings", "registration", "overview", "audit log", "local accounts", "API tokens"}) {
		t.Fatalf("a global admin's navigation on the tokens page: %q", got)
	}
	resp, doc = e.postForm(admin, "/tokens", url.Values{"name": {"nightly-export"}, "role": {"helpdesk"}})
	secret := doc.Find("[data-testid=new-token]").AttrOr("value", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(secret, mfa.TokenPrefix) || resp.Header.Get("Cache-Control") != "no-store" ||
		!strings.Contains(doc.Find("[data-testid=created]").Text(), "will not be shown again") {
		t.Fatalf("create: %d %q %q", resp.StatusCode, secret, resp.Header.Get("Cache-Control"))
	}
	// Listed without its secret; never shown again.
	resp, err := admin.Get(e.srv.URL + "/tokens")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	doc, _ = goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	row := strings.Join(doc.Find("[data-testid=tokens] tbody tr td").Map(func(_ int, s *goquery.Selection) string { return strings.TrimSpace(s.Text()) }), "|")
	if strings.Contains(string(body), secret) || strings.Contains(string(body), secret[len(mfa.TokenPrefix):]) || row != "nightly-export|helpdesk|2026-11-24 09:00 UTC|global-admin|never|revoke" {
		t.Fatalf("list: %q", row)
	}
	// Refused input, shown next to its field.
	for field, form := range map[string]url.Values{
		"name": {"name": {"NIGHTLY-export"}, "role": {"reader"}},
		"role": {"name": {"x"}, "role": {"root"}},
	} {
		resp, doc := e.postForm(admin, "/tokens", form)
		if resp.StatusCode != 400 || doc.Find("#err-"+field).Text() == "" || doc.Find("#"+field).AttrOr("aria-invalid", "") != "true" {
			t.Errorf("bad %s: %d %q", field, resp.StatusCode, doc.Find(".field-error").Text())
		}
	}

	// Using it: the token's role, the actor "token:NAME", the use recorded.
	code, out, _ := e.apiCall("GET", "/api/v1/users?limit=1", "Bearer "+secret, "")
	if code != 200 || out["total"] == nil {
		t.Fatalf("list users with the token: %d %v", code, out)
	}
	code, out, _ = e.apiCall("POST", "/api/v1/users/step.user@contoso.com/reset", "Bearer "+secret, `{"rememberedDevices":true,"reason":"api"}`)
	if code != 200 {
		t.Fatalf("helpdesk token resets: %d %v", code, out)
	}
	// No CSRF token needed, and CrossOriginProtection lets it through (no browser headers)...
	if code, out, _ = e.apiCall("POST", "/api/v1/users/step.user@contoso.com/state", "Bearer "+secret, `{"state":"enabled"}`); code != 403 {
		t.Fatalf("helpdesk token changes a state: %d %v", code, out)
	}
	// ...but a browser's cross-site request is refused, token or not.
	if code, _, _ = e.apiCall("POST", "/api/v1/users/step.user@contoso.com/reset", "Bearer "+secret, `{"rememberedDevices":true}`, "Sec-Fetch-Site", "cross-site"); code != 403 {
		t.Fatalf("cross-site with a token: %d", code)
	}
	page, _ := e.db.FindAudit(context.Background(), mfa.AuditFilter{Target: "step.user@contoso.com", Limit: 1})
	if r := page.Records[0]; r.ActorName != "token:nightly-export" || r.ActorMethod != "token" || r.ActorRole != mfa.RoleHelpdesk {
		t.Fatalf("audit of the API change: %+v", r)
	}
	_, doc = e.get(admin, "/tokens")
	if strings.Contains(doc.Find("[data-testid=tokens] tbody tr").Text(), "never") {
		t.Fatal("last used is not shown")
	}
	// The token does not open pages: bearer tokens are for the API only.
	req, _ := http.NewRequest("GET", e.srv.URL+"/users", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	if resp, _ := e.client().Do(req); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a page with a token: %d", resp.StatusCode)
	}

	// Revoked: 401 at once.
	// Revoking asks first, naming the token; nothing changes until confirmed.
	resp, doc = e.postForm(admin, "/tokens/revoke", url.Values{"name": {"nightly-export"}})
	if resp.StatusCode != 200 || doc.Find("#confirm-dialog h2").Text() != "Revoke the token nightly-export?" ||
		doc.Find("#confirm-dialog a.cancel[autofocus]").Length() != 1 {
		t.Fatalf("revoke asks: %d %q", resp.StatusCode, doc.Find("#confirm-dialog").Text())
	}
	if code, _, _ := e.apiCall("GET", "/api/v1/users", "Bearer "+secret, ""); code != 200 {
		t.Fatalf("the token stopped working before the revoke was confirmed: %d", code)
	}
	resp, _ = e.postForm(admin, "/tokens/revoke", url.Values{"name": {"nightly-export"}, "confirmed": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	_, doc = e.get(admin, resp.Header.Get("Location"))
	if !strings.Contains(doc.Find("[role=status]").Text(), "Revoked the token nightly-export") {
		t.Fatalf("after revoke: %q", doc.Find("main").Text())
	}
	code, out, hdr := e.apiCall("GET", "/api/v1/users", "Bearer "+secret, "")
	if code != 401 || out["error"] == "" || !strings.Contains(hdr.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("revoked token: %d %v %q", code, out, hdr.Get("WWW-Authenticate"))
	}
	if resp, _ := e.postForm(admin, "/tokens/revoke", url.Values{"name": {"nightly-export"}, "confirmed": {"yes"}}); resp.StatusCode != 404 {
		t.Fatalf("revoke twice: %d", resp.StatusCode)
	}
	if resp, _ := e.postForm(admin, "/tokens/revoke", url.Values{"name": {"nightly-export"}}); resp.StatusCode != 404 {
		t.Fatalf("revoke twice: %d", resp.StatusCode)
	}
	page, _ = e.db.FindAudit(context.Background(), mfa.AuditFilter{Target: "token:nightly-export", Limit: 10})
	if len(page.Records) != 2 || page.Records[0].Action != mfa.AuditTokenRevoke || page.Records[1].Action != mfa.AuditTokenCreate ||
		page.Records[1].ActorName != "global-admin" || page.Records[1].Source != mfa.SourcePage {
		t.Fatalf("token audit: %+v", page.Records)
	}
	if strings.Contains(e.logs.String(), secret) || strings.Contains(e.logs.String(), secret[len(mfa.TokenPrefix):]) {
		t.Fatal("the token is in the log")
	}
}

func TestAPIRefusesBadCredentials(t *testing.T) {
	e := newTestEnv(t)
	for _, auth := range []string{"Bearer", "Bearer ", "Bearer mfap_", "Bearer " + "mfap_" + strings.Repeat("x", 43), "Basic Z2xvYmFsLWFkbWluOng=", "token abc"} {
		code, out, hdr := e.apiCall("GET", "/api/v1/users", auth, "")
		if code != 401 || out["error"] == "" || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%q: %d %v", auth, code, out)
		}
	}
	if code, _, _ := e.apiCall("GET", "/api/v1/users", "", ""); code != 401 {
		t.Errorf("no credentials: %d", code)
	}
}

func TestAdministrationIsForGlobalAdminsOnly(t *testing.T) {
	e := newTestEnv(t)
	for _, role := range []mfa.Role{mfa.RoleAuthAdmin, mfa.RoleHelpdesk, mfa.RoleReader} {
		c := e.signedIn(role)
		_, doc := e.get(c, "/users")
		if doc.Find("nav.tabs a[href='/accounts'], nav.tabs a[href='/tokens']").Length() != 0 {
			t.Errorf("%s sees the administration links", role)
		}
		for _, path := range []string{"/tokens", "/accounts"} {
			if resp, doc := e.get(c, path); resp.StatusCode != 403 || !strings.Contains(doc.Find(".notice").Text(), "may not do this") {
				t.Errorf("%s GET %s: %d", role, path, resp.StatusCode)
			}
		}
		resp, _ := e.postForm(c, "/tokens", url.Values{"name": {"sneaky"}, "role": {"global-admin"}})
		resp2, _ := e.postForm(c, "/accounts", url.Values{"name": {"sneaky"}, "role": {"global-admin"}, "password": {testPassword}, "confirm": {testPassword}})
		if resp.StatusCode != 403 || resp2.StatusCode != 403 {
			t.Errorf("%s creates: %d %d", role, resp.StatusCode, resp2.StatusCode)
		}
	}
	if list, _ := e.db.ListTokens(context.Background()); len(list) != 0 {
		t.Fatal("a refused request created a token")
	}
	if _, err := e.db.FindAccount(context.Background(), "sneaky"); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Fatal("a refused request created an account")
	}
}

func TestAccountsPage(t *testing.T) {
	e := newTestEnv(t)
	admin := e.signedIn(mfa.RoleGlobalAdmin)
	_, doc := e.get(admin, "/accounts")
	rows := doc.Find("[data-testid=accounts] tbody tr")
	if rows.Length() != 4 || !strings.Contains(rows.Text(), "authentication-admin") {
		t.Fatalf("accounts: %q", rows.Text())
	}
	// The admin's own row has no remove button.
	if doc.Find(`input[name=name][value="global-admin"]`).Length() != 0 {
		t.Fatal("the signed-in account can be removed from the page")
	}
	for field, form := range map[string]url.Values{
		"name":     {"name": {"bad name"}, "role": {"reader"}, "password": {testPassword}, "confirm": {testPassword}},
		"role":     {"name": {"ok"}, "role": {""}, "password": {testPassword}, "confirm": {testPassword}},
		"password": {"name": {"ok"}, "role": {"reader"}, "password": {"short"}, "confirm": {"short"}},
		"confirm":  {"name": {"ok"}, "role": {"reader"}, "password": {testPassword}, "confirm": {testPassword + "!"}},
	} {
		resp, doc := e.postForm(admin, "/accounts", form)
		if resp.StatusCode != 400 || doc.Find("#err-"+field).Text() == "" || doc.Find("#name").AttrOr("value", "") != form.Get("name") {
			t.Errorf("bad %s: %d %q", field, resp.StatusCode, doc.Find(".field-error").Text())
		}
	}
	if resp, doc := e.postForm(admin, "/accounts", url.Values{"name": {"READER"}, "role": {"reader"}, "password": {testPassword}, "confirm": {testPassword}}); resp.StatusCode != 409 ||
		!strings.Contains(doc.Find("#err-name").Text(), "already exists") {
		t.Fatalf("duplicate: %d", resp.StatusCode)
	}
	resp, _ := e.postForm(admin, "/accounts", url.Values{"name": {"hd2"}, "role": {"helpdesk"}, "password": {testPassword}, "confirm": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d", resp.StatusCode)
	}
	hd2 := e.signedIn("hd2")
	if _, role := e.header(hd2); !strings.HasPrefix(role, "Helpdesk administrator") {
		t.Fatalf("the new account signs in as %q", role)
	}
	// Removing it ends its sessions; removing yourself is refused.
	resp, doc = e.postForm(admin, "/accounts/remove", url.Values{"name": {"hd2"}})
	if resp.StatusCode != 200 || doc.Find("#confirm-dialog h2").Text() != "Remove the account hd2?" || doc.Find("#confirm-dialog a.cancel[autofocus]").Length() != 1 {
		t.Fatalf("remove asks: %d %q", resp.StatusCode, doc.Find("#confirm-dialog").Text())
	}
	if name, _ := e.header(hd2); name == "" {
		t.Fatal("the account was removed before the removal was confirmed")
	}
	if resp, _ := e.postForm(admin, "/accounts/remove", url.Values{"name": {"hd2"}, "confirmed": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d", resp.StatusCode)
	}
	if name, _ := e.header(hd2); name != "" {
		t.Fatal("a removed account's session still works")
	}
	resp, doc = e.postForm(admin, "/accounts/remove", url.Values{"name": {"Global-Admin"}, "confirmed": {"yes"}})
	if resp.StatusCode != 409 || !strings.Contains(doc.Find("#account-error").Text(), "signed in with") {
		t.Fatalf("remove yourself: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	page, _ := e.db.FindAudit(context.Background(), mfa.AuditFilter{Target: "account:hd2", Limit: 10})
	if len(page.Records) != 2 || page.Records[1].Action != mfa.AuditAccountAdd || page.Records[0].Action != mfa.AuditAccountRemove {
		t.Fatalf("account audit: %+v", page.Records)
	}
}
