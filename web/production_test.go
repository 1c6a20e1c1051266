package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// Every answer to a signed-in browser or an API token is Cache-Control: no-store.
func TestSignedInPagesAreNotStored(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	for _, path := range []string{"/users", "/audit", "/settings", "/users/xss@contoso.com", "/account/security", "/nope"} {
		if resp, _ := e.get(c, path); resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, resp.Header.Get("Cache-Control"))
		}
	}
}

func TestMetricsToken(t *testing.T) {
	e := newTestEnvWith(t, func(cfg *Config, _ string) { cfg.MetricsToken = "scrape-me-0123456789" })
	for auth, want := range map[string]int{"": 401, "Bearer wrong": 401, "Basic scrape-me-0123456789": 401, "Bearer scrape-me-0123456789": 200} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 200) != strings.Contains(string(body), "go_goroutines") {
			t.Errorf("%q: %d", auth, resp.StatusCode)
		}
	}
}

// HEAD is answered wherever GET is, with GET's status and headers and no body.
func TestHeadWhereGetIsServed(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/signin": 303 /* signed in: on to the users */, "/users": 200, "/audit": 200, "/users/export": 200, "/api/v1/users": 200, "/nope": 404} {
		req, _ := http.NewRequest(http.MethodHead, e.srv.URL+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || len(body) != 0 {
			t.Errorf("HEAD %s: %d, %d bytes", path, resp.StatusCode, len(body))
		}
	}
}

// No page shows text taken from its URL: notices are kept in a sealed cookie.
func TestNoPageShowsTextFromItsURL(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleGlobalAdmin)
	const planted = "Your account is locked call 555 0100"
	q := url.QueryEscape(planted)
	for _, path := range []string{"/users?notice=" + q, "/users/xss@contoso.com?notice=" + q, "/accounts?added=" + q + "&removed=" + q,
		"/tokens?revoked=" + q, "/settings?saved=" + q, "/audit?notice=" + q, "/bulk?notice=" + q, "/account/security?notice=" + q} {
		if _, doc := e.get(c, path); strings.Contains(doc.Text(), planted) || strings.Contains(doc.Text(), "555 0100") {
			t.Errorf("%s shows the text of its URL", path)
		}
	}
	// The portal's own notices still arrive, once.
	if resp, _ := e.postForm(c, "/accounts", url.Values{"name": {"ops"}, "role": {" Helpdesk "}, "password": {testPassword}, "confirm": {testPassword}}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/accounts" {
		t.Fatalf("add account: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, doc := e.get(c, "/accounts"); !strings.Contains(doc.Find("[role=status]").Text(), "Added the account ops") {
		t.Fatal("the notice after adding an account is missing")
	}
	if _, doc := e.get(c, "/accounts"); doc.Find("[role=status]").Length() != 0 {
		t.Fatal("the notice is shown twice")
	}
	// The role typed " Helpdesk " is stored normalized.
	if a, err := e.db.FindAccount(context.Background(), "ops"); err != nil || a.Role != mfa.RoleHelpdesk {
		t.Fatalf("role: %+v %v", a, err)
	}
}

// Display names and reasons are shown inside <bdi> without control or bidi characters, also in
// the audit export.
func TestNamesAndReasonsAreIsolatedAndCleaned(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	svc := e.app.svc
	if _, err := svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader("UserPrincipalName,DisplayName\nspoof@contoso.com,\"Evil\u202Efdp.exe\"\n"), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SetState(ctx, mfa.CLIActor, mfa.StateRequest{UPN: "spoof@contoso.com", To: mfa.StateEnabled, Reason: "ticket\u202E 42\x1b[31m", Source: mfa.SourceCLI}); err != nil {
		t.Fatal(err)
	}
	c := e.signedIn(mfa.RoleReader)
	_, doc := e.get(c, "/users?q=spoof")
	if got := doc.Find("td a bdi").First().Text(); got != "Evilfdp.exe" {
		t.Errorf("users page: %q", got)
	}
	_, doc = e.get(c, "/users/spoof@contoso.com")
	if got := doc.Find("[data-testid=user-heading] bdi").Text(); got != "Evilfdp.exe" {
		t.Errorf("user page heading: %q", got)
	}
	if i := strings.IndexAny(doc.Text(), "\u202E\x07\x1b"); i >= 0 {
		t.Errorf("the user page shows control characters: %q", doc.Text()[max(0, i-80):i+20])
	}
	_, doc = e.get(c, "/audit")
	if got := doc.Find("td.reason bdi").First().Text(); got != "ticket 42[31m" {
		t.Errorf("audit reason: %q", got)
	}
	resp, err := c.Get(e.srv.URL + "/audit/export")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.ContainsAny(string(body), "\u202E\x07\x1b") || !strings.Contains(string(body), "ticket 42[31m") {
		t.Errorf("audit export: %q", body)
	}
}

func TestTrustedRangesCoveringEverythingAreRefused(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleGlobalAdmin)
	req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/api/v1/settings", strings.NewReader(`{"appPasswordsAllowed": false,
		"trustedIps": {"skipForFederatedIntranet": false, "skipForRanges": true, "ranges": ["0.0.0.0/1", "128.0.0.0/1"]},
		"verificationOptions": {"call": true, "sms": true, "appNotification": true, "appCode": true},
		"rememberMfa": {"enabled": false, "days": 14}}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "cover every IPv4 address") || !strings.Contains(string(body), "trustedIps.ranges") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

// With --session-idle 1m, a session used every 50 seconds stays signed in; left alone, it ends.
func TestShortIdleTimeoutKeepsASessionInUseAlive(t *testing.T) {
	e := newTestEnvWith(t, func(cfg *Config, _ string) { cfg.SessionIdle = time.Minute })
	c := e.signedIn(mfa.RoleReader)
	for i := range 8 {
		e.now = e.now.Add(50 * time.Second)
		if resp, _ := e.get(c, "/users"); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d, %d s after the one before: %d", i+1, 50, resp.StatusCode)
		}
	}
	e.now = e.now.Add(61 * time.Second)
	if resp, _ := e.get(c, "/users"); resp.StatusCode != http.StatusSeeOther {
		t.Fatal("an idle session outlived the idle timeout")
	}
}
