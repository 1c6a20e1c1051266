package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
)

const testPassword = "correct horse battery staple"

// testHash is computed once: argon2id is slow on purpose.
var testHash = sync.OnceValue(func() string {
	h, err := mfa.HashPassword(testPassword)
	if err != nil {
		panic(err)
	}
	return h
})

type testEnv struct {
	t    *testing.T
	srv  *httptest.Server
	db   *sqlite.DB
	app  *Server
	now  time.Time
	logs *syncBuffer // everything the server logged
	// pages holds the bodies of the sign-in callbacks the tests made (checked for leaked tokens).
	pages syncBuffer
	self  *mfa.SelfService // the users' pages (Config.Self)
	sent  *sentCodes       // the codes self sent
}

// syncBuffer is a log sink that request goroutines may write to concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestEnv boots the whole server over a real SQLite directory with the demo tenant (250 users)
// plus a user whose display name is markup, and one local account per role.
func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnvWith(t, nil)
}

// newTestEnvWith is newTestEnv with a configuration changed by configure, which is given the
// server's base URL (the public URL).
func newTestEnvWith(t *testing.T, configure func(cfg *Config, baseURL string)) *testEnv {
	t.Helper()
	return newTestEnvDeps(t, nil, configure)
}

// newTestEnvDeps is newTestEnvWith with the service's dependencies changed by deps.
func newTestEnvDeps(t *testing.T, deps func(d *mfa.Deps), configure func(cfg *Config, baseURL string)) *testEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &testEnv{t: t, db: db, now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	users := slices.Collect(mfa.DemoUsers(250))
	users = append(users, mfa.User{UPN: "xss@contoso.com", DisplayName: `<script>alert("x")</script>`, AccountEnabled: true, State: mfa.StateEnabled})
	if _, err := db.SeedUsers(ctx, slices.Values(users), e.now, nil); err != nil {
		t.Fatal(err)
	}
	d := mfa.Deps{Directory: db, Importer: db, Accounts: db, Tokens: db, Audit: db, Settings: db, Jobs: db, Registrations: db, Now: func() time.Time { return e.now }}
	if deps != nil {
		deps(&d)
	}
	svc := mfa.MustNewService(d)
	svc.AccountMFA, svc.Exemptions, svc.Overview = db, db, db
	for _, r := range mfa.Roles {
		if err := db.CreateAccount(ctx, &mfa.Account{Name: string(r), Role: r, PasswordHash: testHash(), CreatedAt: e.now, UpdatedAt: e.now}); err != nil {
			t.Fatal(err)
		}
	}
	e.logs = &syncBuffer{}
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	var handler http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	cfg := Config{SessionKey: make([]byte, 64), SessionIdle: time.Hour, SessionMaxAge: 12 * time.Hour}
	e.sent = &sentCodes{}
	e.self, err = mfa.NewSelfService(mfa.SelfService{Directory: db, Settings: db, Store: db, Sender: e.sent, PublicURL: e.srv.URL,
		Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Self = e.self
	if configure != nil {
		configure(&cfg, e.srv.URL)
	}
	app, err := New(cfg, svc, db, db.Ping, log)
	if err != nil {
		t.Fatal(err)
	}
	app.sessions.Now = func() time.Time { return e.now }
	app.now = func() time.Time { return e.now }
	e.app = app
	handler = app.Handler()
	return e
}

// client is a browser-like client that keeps cookies and does not follow redirects.
func (e *testEnv) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *testEnv) signIn(c *http.Client, name, password, next string) *http.Response {
	e.t.Helper()
	resp, err := c.PostForm(e.srv.URL+"/signin", url.Values{"username": {name}, "password": {password}, "next": {next}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (e *testEnv) signedIn(role mfa.Role) *http.Client {
	c := e.client()
	if resp := e.signIn(c, string(role), testPassword, ""); resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign in as %s: %d", role, resp.StatusCode)
	}
	return c
}

func (e *testEnv) get(c *http.Client, path string) (*http.Response, *goquery.Document) {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, doc
}

func TestSignedOutIsSentToSignInAndBack(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	resp, _ := e.get(c, "/users?status=enforced&q=a")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?next="+url.QueryEscape("/users?status=enforced&q=a") {
		t.Fatalf("signed out: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = e.signIn(c, "reader", testPassword, "/users?status=enforced&q=a")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/users?status=enforced&q=a" {
		t.Fatalf("after sign-in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Never to another site.
	for _, evil := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "/signout"} {
		resp = e.signIn(e.client(), "reader", testPassword, evil)
		if loc := resp.Header.Get("Location"); loc != "/users" {
			t.Errorf("next=%q redirected to %q", evil, loc)
		}
	}
}

func TestSignInRefusesWrongPasswordAndThrottles(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	resp, err := c.PostForm(e.srv.URL+"/signin", url.Values{"username": {"admin-nope"}, "password": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(doc.Find("[role=alert]").Text(), "user name or password is incorrect") {
		t.Fatalf("wrong password: %d %q", resp.StatusCode, doc.Find("[role=alert]").Text())
	}
	if doc.Find("#username").AttrOr("value", "") != "admin-nope" {
		t.Error("the user name typed is not kept")
	}
	for range 10 {
		e.signIn(c, "reader", "wrong password!", "")
	}
	// Now even the right password is refused for a while, with a clear message.
	resp = e.signIn(c, "reader", testPassword, "")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 10 failures: %d", resp.StatusCode)
	}
	e.now = e.now.Add(16 * time.Minute)
	if resp = e.signIn(c, "reader", testPassword, ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the window: %d", resp.StatusCode)
	}
}

func TestSignOutEndsTheSessionServerSide(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	u, _ := url.Parse(e.srv.URL)
	stolen := c.Jar.Cookies(u)
	if resp, _ := e.get(c, "/users"); resp.StatusCode != http.StatusOK {
		t.Fatalf("signed in: %d", resp.StatusCode)
	}
	resp, err := c.Post(e.srv.URL+"/signout", "", nil)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %v %v", err, resp.StatusCode)
	}
	// Replaying the old cookie does not work: the session row is gone.
	c2 := e.client()
	c2.Jar.SetCookies(u, stolen)
	if resp, _ := e.get(c2, "/users"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("old cookie after sign-out: %d", resp.StatusCode)
	}
}

func TestSessionExpiresWhenIdle(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	e.now = e.now.Add(61 * time.Minute)
	resp, _ := e.get(c, "/users")
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "expired=1") {
		t.Fatalf("idle session: %d %q", resp.StatusCode, loc)
	}
	_, doc := e.get(c, loc)
	if !strings.Contains(doc.Find("[role=status]").Text(), "session has expired") {
		t.Fatalf("no expiry message: %q", doc.Find("main").Text())
	}
}

func TestTamperedCookieIsIgnored(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	u, _ := url.Parse(e.srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: "forged-value"}})
	if resp, _ := e.get(c, "/users"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("forged cookie: %d", resp.StatusCode)
	}
}

func TestSessionCookieFlags(t *testing.T) {
	e := newTestEnv(t)
	resp := e.signIn(e.client(), "reader", testPassword, "")
	var sc string
	for _, h := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(h, SessionCookie+"=") {
			sc = h
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("cookie %q is Secure on plain http", sc)
	}
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	e := newTestEnv(t)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/signin", strings.NewReader("username=reader&password="+url.QueryEscape(testPassword)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := e.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(resp.Header.Values("Set-Cookie")) > 0 {
		t.Fatalf("cross-site POST: %d", resp.StatusCode)
	}
}

func TestUsersPage(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	resp, doc := e.get(c, "/users")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("users: %d", resp.StatusCode)
	}
	if got := doc.Find("h1").Text(); got != "multi-factor authentication" {
		t.Errorf("title %q", got)
	}
	if got := doc.Find("nav.tabs a").Map(func(_ int, s *goquery.Selection) string { return s.Text() }); !slices.Equal(got, []string{"users", "service settings", "registration", "overview", "audit log"}) {
		t.Errorf("tabs %q (a reader sees no bulk update)", got)
	}
	if got := doc.Find("label[for=view]").Text(); got != "View" {
		t.Errorf("view label %q", got)
	}
	if got := doc.Find("label[for=status]").Text(); got != "Multi-Factor Auth status" {
		t.Errorf("status label %q", got)
	}
	opts := doc.Find("#view option").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	if !slices.Equal(opts, []string{"Sign-in allowed users", "Sign-in blocked users", "All users"}) {
		t.Errorf("view options %q", opts)
	}
	if doc.Find("#view option[selected]").Text() != "Sign-in allowed users" {
		t.Errorf("default view %q", doc.Find("#view option[selected]").Text())
	}
	opts = doc.Find("#status option").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	if !slices.Equal(opts, []string{"Any", "Enabled", "Enforced", "Disabled"}) {
		t.Errorf("status options %q", opts)
	}
	heads := doc.Find("table.users th").Map(func(_ int, s *goquery.Selection) string { return strings.TrimSpace(s.Text()) })
	if !slices.Equal(heads, []string{"", "DISPLAY NAME", "USER NAME", "MULTI-FACTOR AUTH STATUS"}) {
		t.Errorf("columns %q", heads)
	}
	if n := doc.Find("table.users tbody tr").Length(); n != 100 {
		t.Errorf("%d rows on the first page, want 100", n)
	}
	allowed := 0
	for u := range mfa.DemoUsers(250) {
		if u.AccountEnabled {
			allowed++
		}
	}
	allowed++ // the markup user
	if got := doc.Find("#summary").Text(); !strings.HasPrefix(got, strings.TrimSpace(thousandsForTest(allowed))+" users match") {
		t.Errorf("summary %q, want %d users", got, allowed)
	}
}

func thousandsForTest(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestUsersPageEscapesDisplayNames(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	resp, err := c.Get(e.srv.URL + "/users?q=xss")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), `<script>alert`) {
		t.Fatal("a display name was rendered as markup")
	}
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if got := doc.Find("table.users tbody td a").Text(); got != `<script>alert("x")</script>` {
		t.Fatalf("display name shown as %q", got)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
}

func TestUsersPageBadInputGivesNearestView(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	cases := map[string]string{
		"/users?view=bogus":                                     "unknown view",
		"/users?status=maybe":                                   "unknown status",
		"/users?page=-5":                                        "",
		"/users?page=99999999999999999999":                      "",
		"/users?after=not-a-cursor&page=3":                      "no longer valid",
		"/users?q=" + url.QueryEscape(strings.Repeat("é", 300)): "longer than 100",
		"/users?q=%00%01%ff":                                    "",
		"/users?after=a&before=b":                               "no longer valid",
	}
	for path, notice := range cases {
		resp, doc := e.get(c, path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
			continue
		}
		if notice != "" && !strings.Contains(doc.Find(".notice").Text(), notice) {
			t.Errorf("%s: notice %q, want %q", path, doc.Find(".notice").Text(), notice)
		}
		if pos := doc.Find(".pager .pos").Text(); pos != "" && pos != "page 1" {
			t.Errorf("%s: %q", path, pos)
		}
	}
}

func TestUsersPagePagingForwardAndBack(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	_, doc := e.get(c, "/users?view=all")
	first := doc.Find("table.users tbody tr td:nth-child(3)").First().Text()
	next, ok := doc.Find("a[rel=next]").Attr("href")
	if !ok {
		t.Fatal("no next link")
	}
	_, doc = e.get(c, next)
	if doc.Find(".pager .pos").Text() != "page 2" {
		t.Fatalf("page label %q", doc.Find(".pager .pos").Text())
	}
	next, _ = doc.Find("a[rel=next]").Attr("href")
	_, doc = e.get(c, next)
	if doc.Find(".pager .pos").Text() != "page 3" || doc.Find("a[rel=next]").Length() != 0 {
		t.Fatalf("last page: %q", doc.Find(".pager .pos").Text())
	}
	if n := doc.Find("table.users tbody tr").Length(); n != 51 {
		t.Fatalf("last page has %d rows, want 51", n)
	}
	prev, _ := doc.Find("a[rel=prev]").Attr("href")
	_, doc = e.get(c, prev)
	prev, _ = doc.Find("a[rel=prev]").Attr("href")
	_, doc = e.get(c, prev)
	if got := doc.Find("table.users tbody tr td:nth-child(3)").First().Text(); got != first || doc.Find(".pager .pos").Text() != "page 1" {
		t.Fatalf("back on page 1: %q (%q), want %q", got, doc.Find(".pager .pos").Text(), first)
	}
}

func TestUsersPageEmptyState(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	_, doc := e.get(c, "/users?q=zzzz-nobody")
	if !strings.Contains(doc.Find("[data-testid=empty]").Text(), "No users match") {
		t.Fatalf("empty state: %q", doc.Find("main").Text())
	}
}

func TestUserPage(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	resp, doc := e.get(c, "/users/XSS@contoso.com")
	if resp.StatusCode != http.StatusOK || doc.Find("[data-testid=user-heading]").Text() != `<script>alert("x")</script>` {
		t.Fatalf("user page: %d %q", resp.StatusCode, doc.Find("[data-testid=user-heading]").Text())
	}
	if doc.Find("[data-testid=user-state]").Text() != "Enabled" || doc.Find("[data-testid=no-methods]").Length() != 1 {
		t.Errorf("state %q", doc.Find("[data-testid=user-state]").Text())
	}
	resp, doc = e.get(c, "/users/nobody@contoso.com")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(doc.Find(".notice").Text(), "nobody@contoso.com") {
		t.Fatalf("unknown user: %d %q", resp.StatusCode, doc.Find(".notice").Text())
	}
}

func TestAPIUsers(t *testing.T) {
	e := newTestEnv(t)
	resp, err := http.Get(e.srv.URL + "/api/v1/users")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d", resp.StatusCode)
	}
	c := e.signedIn(mfa.RoleHelpdesk)
	var list struct {
		Users []struct {
			UserPrincipalName string `json:"userPrincipalName"`
			PerUserMfaState   string `json:"perUserMfaState"`
			Methods           []any  `json:"methods"`
		} `json:"users"`
		Total      int     `json:"total"`
		NextCursor *string `json:"nextCursor"`
	}
	seen := 0
	cursor := ""
	for {
		resp, err := c.Get(e.srv.URL + "/api/v1/users?status=enforced&limit=20&cursor=" + url.QueryEscape(cursor))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("list: %v %v", err, resp.StatusCode)
		}
		list.NextCursor = nil
		json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		for _, u := range list.Users {
			if u.PerUserMfaState != "enforced" || u.Methods == nil {
				t.Fatalf("user %+v", u)
			}
		}
		seen += len(list.Users)
		if list.NextCursor == nil {
			break
		}
		cursor = *list.NextCursor
	}
	if seen != list.Total || seen == 0 {
		t.Fatalf("paged %d users, total %d", seen, list.Total)
	}
	for path, field := range map[string]string{
		"/api/v1/users?limit=0":                       "limit",
		"/api/v1/users?limit=1001":                    "limit",
		"/api/v1/users?status=nope":                   "status",
		"/api/v1/users?view=x":                        "view",
		"/api/v1/users?cursor=zzz":                    "cursor",
		"/api/v1/users?bogus=1":                       "bogus",
		"/api/v1/users?q=" + strings.Repeat("x", 101): "q",
	} {
		resp, err := c.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error, Field string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 400 || body.Field != field || body.Error == "" {
			t.Errorf("%s: %d %+v", path, resp.StatusCode, body)
		}
	}
	resp, err = c.Get(e.srv.URL + "/api/v1/users/xss%40contoso.com")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("get user: %v %d", err, resp.StatusCode)
	}
	resp.Body.Close()
	resp, _ = c.Get(e.srv.URL + "/api/v1/users/ghost@contoso.com")
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("unknown user: %d", resp.StatusCode)
	}
}

func TestExportIsFormulaSafeCSV(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	svc := mfa.MustNewService(mfa.Deps{Directory: e.db, Importer: e.db, Accounts: e.db, Audit: e.db, Settings: e.db, Jobs: e.db})
	if _, err := svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader("UserPrincipalName,DisplayName\nevil@contoso.com,\"=HYPERLINK(\"\"http://x\"\")\"\n"), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	c := e.signedIn(mfa.RoleReader)
	resp, err := c.Get(e.srv.URL + "/users/export?view=all&q=evil")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "\ufeffUsername,MFA Status,Display Name"
	if !strings.HasPrefix(string(body), want) || !strings.Contains(string(body), `"'=HYPERLINK(""http://x"")"`) {
		t.Fatalf("export:\n%s", body)
	}
}

func TestProbesAndMetrics(t *testing.T) {
	e := newTestEnv(t)
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != want {
			t.Errorf("%s: %d %q", path, resp.StatusCode, b)
		}
	}
	e.get(e.signedIn(mfa.RoleReader), "/users/nobody@contoso.com")
	resp, _ := http.Get(e.srv.URL + "/metrics")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `route="/users/{upn}"`) || strings.Contains(string(b), "nobody@contoso.com") {
		t.Fatal("metrics are not labelled by route pattern")
	}
}

func TestUnknownPageIs404(t *testing.T) {
	e := newTestEnv(t)
	resp, _ := e.get(e.signedIn(mfa.RoleReader), "/nope")
	if resp.StatusCode != 404 {
		t.Fatalf("%d", resp.StatusCode)
	}
}
