package web

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/mfaportal/mfaportal/mfa"
)

// The tests of organisation sign-in run against mockoidc, a real OpenID provider (discovery, JWKS,
// authorization code flow with PKCE S256, nonce, RS256-signed ID tokens) started in-process on
// 127.0.0.1. Its users are idpUsers: any claims can be put into their ID tokens, or replace the
// standard ones (to forge a wrong nonce, audience or expiry), and the token is still properly signed.

// idp is the provider of a test, with everything its token endpoint answered (to check that no
// token ever shows up in the portal's pages or logs).
type idp struct {
	*mockoidc.MockOIDC
	issued *syncBuffer
}

// newIDP starts a provider on 127.0.0.1:0. Its JWKS endpoint publishes mockoidc's default key;
// with signWith set, ID tokens are signed with that key instead (a key the portal cannot know).
func newIDP(t *testing.T, signWith *rsa.PrivateKey) *idp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startIDP(t, ln, signWith)
}

func startIDP(t *testing.T, ln net.Listener, signWith *rsa.PrivateKey) *idp {
	t.Helper()
	m, err := mockoidc.NewServer(signWith)
	if err != nil {
		t.Fatal(err)
	}
	published, err := mockoidc.DefaultKeypair()
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{MockOIDC: m, issued: &syncBuffer{}}
	m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case mockoidc.JWKSEndpoint:
				jwks, _ := published.JWKS()
				w.Header().Set("Content-Type", "application/json")
				w.Write(jwks)
			case mockoidc.TokenEndpoint:
				next.ServeHTTP(&teeWriter{ResponseWriter: w, copy: p.issued}, r)
			default:
				next.ServeHTTP(w, r)
			}
		})
	})
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return p
}

type teeWriter struct {
	http.ResponseWriter
	copy io.Writer
}

func (w *teeWriter) Write(b []byte) (int, error) {
	w.copy.Write(b)
	return w.ResponseWriter.Write(b)
}

// secrets are the strings that must never appear in the portal's pages or logs: the client
// secret, every authorization code and every token the provider issued.
func (p *idp) secrets(t *testing.T) []string {
	out := []string{p.ClientSecret}
	for code := range p.SessionStore.Store { // the authorization codes (read once the flows are over)
		out = append(out, code)
	}
	dec := json.NewDecoder(strings.NewReader(p.issued.String()))
	for {
		var body map[string]any
		if err := dec.Decode(&body); err != nil {
			break
		}
		for _, k := range []string{"access_token", "id_token", "refresh_token"} {
			if s, ok := body[k].(string); ok && s != "" {
				out = append(out, s)
				// A JWT's signature alone is a secret too (a log could cut the token).
				out = append(out, s[strings.LastIndex(s, ".")+1:])
			}
		}
	}
	if len(out) < 2 {
		t.Fatal("the provider issued no tokens: the leak check would check nothing")
	}
	return out
}

// idpUser is someone who signs in at the provider, with the claims of their ID token.
type idpUser struct {
	sub    string
	claims map[string]any // added to the ID token; a standard claim here replaces mockoidc's
}

func (u idpUser) ID() string { return u.sub }

func (u idpUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.sub})
}

func (u idpUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	b, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	if err := json.Unmarshal(b, &claims); err != nil {
		return nil, err
	}
	for k, v := range u.claims {
		claims[k] = v
	}
	return claims, nil
}

// person is a user called name holding the Entra roles with these template ids.
func person(name string, wids ...string) idpUser {
	return idpUser{sub: "sub-" + name, claims: map[string]any{"preferred_username": name, "wids": wids}}
}

// newOIDCEnv is the test portal with organisation sign-in at p, configured further by configure.
func newOIDCEnv(t *testing.T, p *idp, configure func(*OIDCConfig)) *testEnv {
	t.Helper()
	return newTestEnvWith(t, func(cfg *Config, base string) {
		cfg.PublicURL = base
		cfg.OIDC = OIDCConfig{Issuer: p.Issuer(), ClientID: p.ClientID, ClientSecret: p.ClientSecret}
		if configure != nil {
			configure(&cfg.OIDC)
		}
	})
}

// flow is one organisation sign-in, step by step.
type flow struct {
	login      *http.Response // GET /auth/login
	authorize  *url.URL       // where the portal sent the browser
	callback   *url.URL       // where the provider sent it back
	flowCookie *http.Cookie   // the sign-in cookie as the browser held it
}

// startFlow goes from /auth/login through the provider, stopping before the callback.
func (e *testEnv) startFlow(c *http.Client, next string) *flow {
	e.t.Helper()
	f := &flow{}
	resp, err := c.Get(e.srv.URL + "/auth/login?next=" + url.QueryEscape(next))
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	f.login = resp
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("/auth/login: %d", resp.StatusCode)
	}
	f.authorize, _ = url.Parse(resp.Header.Get("Location"))
	for _, ck := range resp.Cookies() {
		if ck.Name == OIDCCookie {
			f.flowCookie = ck
		}
	}
	resp, err = c.Get(f.authorize.String())
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("provider's authorize endpoint: %d", resp.StatusCode)
	}
	f.callback, _ = url.Parse(resp.Header.Get("Location"))
	return f
}

// finish calls the portal's callback URL u (the provider's answer, possibly altered).
func (e *testEnv) finish(c *http.Client, u string) (*http.Response, *goquery.Document, string) {
	e.t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	e.pages.Write(body)
	doc, _ := goquery.NewDocumentFromReader(bytes.NewReader(body))
	return resp, doc, string(body)
}

// oidcSignIn signs a new browser in through the provider as u, and returns it with the final response.
func (e *testEnv) oidcSignIn(p *idp, u idpUser, next string) (*http.Client, *http.Response, *goquery.Document) {
	e.t.Helper()
	p.QueueUser(u)
	c := e.client()
	f := e.startFlow(c, next)
	resp, doc, _ := e.finish(c, f.callback.String())
	return c, resp, doc
}

// header reads the signed-in name and the role line of a page's header.
func (e *testEnv) header(c *http.Client) (name, role string) {
	e.t.Helper()
	resp, doc := e.get(c, "/users")
	if resp.StatusCode != http.StatusOK {
		return "", ""
	}
	return doc.Find("[data-testid=signed-in-name]").Text(), strings.Join(strings.Fields(doc.Find("header .role").Text()), " ")
}

func sessionCookieSet(resp *http.Response) bool {
	for _, ck := range resp.Cookies() {
		if ck.Name == SessionCookie && ck.Value != "" && ck.MaxAge >= 0 {
			return true
		}
	}
	return false
}

func TestOIDCSignInThroughTheProvider(t *testing.T) {
	p := newIDP(t, nil)
	e := newOIDCEnv(t, p, nil)

	// The sign-in page offers both ways in.
	_, doc := e.get(e.client(), "/signin?next=/audit")
	if doc.Find("#oidc-signin").Text() != "Sign in with your organisation" || doc.Find("#oidc-signin").AttrOr("href", "") != "/auth/login?next=%2Faudit" ||
		doc.Find("#username").Length() != 1 {
		t.Fatalf("sign-in page: %q", doc.Find(".signin").Text())
	}

	p.QueueUser(person("ada@contoso.com", mfa.EntraGlobalAdministrator))
	c := e.client()
	f := e.startFlow(c, "/users?view=all&q=ada")
	// The redirect to the provider: code flow, PKCE S256, state and nonce, our redirect URI.
	q := f.authorize.Query()
	if !strings.HasPrefix(f.authorize.String(), p.AuthorizationEndpoint()) || q.Get("response_type") != "code" || q.Get("client_id") != p.ClientID ||
		q.Get("redirect_uri") != e.srv.URL+"/auth/callback" || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
		len(q.Get("state")) < 43 || len(q.Get("nonce")) < 43 || q.Get("state") == q.Get("nonce") || q.Get("scope") != "openid profile email" {
		t.Fatalf("authorize URL %s", f.authorize)
	}
	// The sign-in cookie: short-lived, HttpOnly, SameSite=Lax, only for /auth, and opaque.
	ck := f.flowCookie
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/auth" || ck.MaxAge != 600 || ck.Secure ||
		strings.Contains(ck.Value, q.Get("state")) || strings.Contains(ck.Value, q.Get("nonce")) {
		t.Fatalf("sign-in cookie %+v", ck)
	}
	resp, _, _ := e.finish(c, f.callback.String())
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/users?view=all&q=ada" || !sessionCookieSet(resp) {
		t.Fatalf("callback: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cleared := false
	for _, ck := range resp.Cookies() {
		cleared = cleared || ck.Name == OIDCCookie && ck.MaxAge < 0
	}
	if !cleared {
		t.Error("the sign-in cookie was not cleared after use")
	}
	if name, role := e.header(c); name != "ada@contoso.com" || role != "Global administrator · organisation sign-in" {
		t.Fatalf("header %q %q", name, role)
	}
	// The session acts with the role: an audited change names the person and how they signed in.
	e.stepUsers()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/users/step.user@contoso.com/state", strings.NewReader(`{"state":"enabled"}`))
	if resp, err := c.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("change as an OIDC admin: %v %v", err, resp.StatusCode)
	}
	page, _ := e.db.FindAudit(t.Context(), mfa.AuditFilter{Target: "step.user@contoso.com", Limit: 1})
	if r := page.Records[0]; r.ActorName != "ada@contoso.com" || r.ActorRole != mfa.RoleGlobalAdmin || r.ActorMethod != "oidc" {
		t.Fatalf("audit %+v", r)
	}
	// Sign-out ends it.
	if resp, _ := c.Post(e.srv.URL+"/signout", "", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatal("sign out")
	}
	if name, _ := e.header(c); name != "" {
		t.Fatal("still signed in after sign-out")
	}
	assertNoSecrets(t, e, p)
}

func TestOIDCActorName(t *testing.T) {
	p := newIDP(t, nil)
	e := newOIDCEnv(t, p, nil)
	for _, tc := range []struct {
		claims map[string]any
		want   string
	}{
		{map[string]any{"preferred_username": "pref@contoso.com", "email": "mail@contoso.com", "name": "Ada"}, "pref@contoso.com"},
		{map[string]any{"email": "mail@contoso.com", "name": "Ada"}, "mail@contoso.com"},
		{map[string]any{"name": "Ada Lovelace"}, "Ada Lovelace"},
		{map[string]any{"name": "  \u0007 "}, "sub-only"},
		{map[string]any{}, "sub-only"},
	} {
		tc.claims["wids"] = []string{mfa.EntraGlobalReader}
		c, _, _ := e.oidcSignIn(p, idpUser{sub: "sub-only", claims: tc.claims}, "")
		if name, _ := e.header(c); name != tc.want {
			t.Errorf("%v: named %q, want %q", tc.claims, name, tc.want)
		}
	}
}

func TestOIDCRoleMappingEntraWids(t *testing.T) {
	p := newIDP(t, nil)
	e := newOIDCEnv(t, p, nil)
	for _, tc := range []struct {
		wids []string
		want string
	}{
		{[]string{mfa.EntraGlobalAdministrator}, "Global administrator"},
		{[]string{mfa.EntraPrivilegedAuthenticationAdministrator}, "Authentication administrator"},
		{[]string{mfa.EntraAuthenticationAdministrator}, "Authentication administrator"},
		{[]string{mfa.EntraHelpdeskAdministrator}, "Helpdesk administrator"},
		{[]string{mfa.EntraGlobalReader}, "Global reader"},
		// Several roles: the strongest.
		{[]string{mfa.EntraGlobalReader, mfa.EntraHelpdeskAdministrator}, "Helpdesk administrator"},
		{[]string{mfa.EntraHelpdeskAdministrator, "b79fbf4d-3ef9-4689-8143-76b194e85509", mfa.EntraAuthenticationAdministrator}, "Authentication administrator"},
		{[]string{mfa.EntraGlobalReader, mfa.EntraGlobalAdministrator, mfa.EntraHelpdeskAdministrator}, "Global administrator"},
	} {
		c, resp, _ := e.oidcSignIn(p, person("someone@contoso.com", tc.wids...), "")
		if _, role := e.header(c); resp.StatusCode != http.StatusSeeOther || role != tc.want+" · organisation sign-in" {
			t.Errorf("wids %v: %d %q, want %s", tc.wids, resp.StatusCode, role, tc.want)
		}
	}
}

func TestOIDCRoleMappingCustomClaim(t *testing.T) {
	roleMap, err := mfa.ParseRoleMap("MFA.Admin=global-admin,MFA.AuthAdmin=authentication-admin,MFA.Helpdesk=helpdesk,MFA.Reader=reader," +
		"0b7a6d3c-1111-4a4a-9c9c-000000000001=helpdesk,/mfa/readers=reader")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		claim  string
		claims map[string]any
		want   string // "" for no access
	}{
		// An app roles claim, as an array and as a single string.
		{"roles", map[string]any{"roles": []string{"MFA.Admin"}}, "Global administrator"},
		{"roles", map[string]any{"roles": []string{"MFA.AuthAdmin"}}, "Authentication administrator"},
		{"roles", map[string]any{"roles": "MFA.Helpdesk"}, "Helpdesk administrator"},
		{"roles", map[string]any{"roles": []string{"Other", "MFA.Reader"}}, "Global reader"},
		{"roles", map[string]any{"roles": []string{"MFA.Reader", "MFA.Admin", "MFA.Helpdesk"}}, "Global administrator"},
		{"roles", map[string]any{"roles": []string{"mfa.admin"}}, ""}, // values match exactly
		// With a custom claim, wids no longer count.
		{"roles", map[string]any{"wids": []string{mfa.EntraGlobalAdministrator}}, ""},
		// A groups claim (Entra group object ids).
		{"groups", map[string]any{"groups": []string{"9d0c0000-0000-0000-0000-000000000000", "0b7a6d3c-1111-4a4a-9c9c-000000000001"}}, "Helpdesk administrator"},
		// A nested claim (Keycloak's realm_access.roles) and a path-like group name.
		{"realm_access.roles", map[string]any{"realm_access": map[string]any{"roles": []string{"offline_access", "MFA.Admin"}}}, "Global administrator"},
		{"groups", map[string]any{"groups": []string{"/mfa/readers"}}, "Global reader"},
	}
	p := newIDP(t, nil)
	envs := map[string]*testEnv{}
	for _, tc := range cases {
		e := envs[tc.claim]
		if e == nil {
			e = newOIDCEnv(t, p, func(c *OIDCConfig) { c.RoleClaim, c.RoleMap = tc.claim, mfa.EntraRoleMap().With(roleMap) })
			envs[tc.claim] = e
		}
		c, resp, doc := e.oidcSignIn(p, idpUser{sub: "s", claims: mergeClaims(map[string]any{"preferred_username": "grace@contoso.com"}, tc.claims)}, "")
		_, role := e.header(c)
		if tc.want == "" {
			if resp.StatusCode != http.StatusForbidden || doc.Find("[data-testid=no-access]").Length() != 1 || role != "" {
				t.Errorf("%s %v: %d %q, want no access", tc.claim, tc.claims, resp.StatusCode, role)
			}
			continue
		}
		if role != tc.want+" · organisation sign-in" {
			t.Errorf("%s %v: %d %q, want %s", tc.claim, tc.claims, resp.StatusCode, role, tc.want)
		}
	}
}

func mergeClaims(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func TestOIDCNoRoleGivesNoAccessAndNoSession(t *testing.T) {
	p := newIDP(t, nil)
	e := newOIDCEnv(t, p, nil)
	// A browser already signed in locally as a global admin signs in as someone without a role:
	// the old session ends too.
	c := e.signedIn(mfa.RoleGlobalAdmin)
	u, _ := url.Parse(e.srv.URL)
	old := c.Jar.Cookies(u)
	p.QueueUser(person("nobody@contoso.com", "b79fbf4d-3ef9-4689-8143-76b194e85509")) // Application Administrator: not a portal role
	f := e.startFlow(c, "/users")
	resp, doc, body := e.finish(c, f.callback.String())
	if resp.StatusCode != http.StatusForbidden || doc.Find("h1").Text() != "No access" ||
		!strings.Contains(doc.Find("[data-testid=no-access]").Text(), "nobody@contoso.com") || sessionCookieSet(resp) {
		t.Fatalf("no role: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	if doc.Find("[data-testid=signed-in-name]").Length() != 0 || strings.Contains(body, "sign out") {
		t.Fatal("the no-access page shows someone signed in")
	}
	if name, _ := e.header(c); name != "" {
		t.Fatal("a person without a role has a session")
	}
	c2 := e.client()
	c2.Jar.SetCookies(u, old)
	if name, _ := e.header(c2); name != "" {
		t.Fatal("the session from before the refused sign-in still works")
	}
	// Entra's groups overage: the claim is replaced by a claim source; the page says why.
	e2 := newOIDCEnv(t, p, func(c *OIDCConfig) { c.RoleClaim = "groups" })
	overage := idpUser{sub: "x", claims: map[string]any{"preferred_username": "many@contoso.com",
		"_claim_names": map[string]any{"groups": "src1"}, "_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}}}
	_, resp, doc = e2.oidcSignIn(p, overage, "")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(doc.Find("main").Text(), "too many") {
		t.Fatalf("overage: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	assertNoSecrets(t, e, p)
}

func TestOIDCRefusals(t *testing.T) {
	p := newIDP(t, nil)
	e := newOIDCEnv(t, p, nil)
	admin := func() idpUser { return person("mallory@contoso.com", mfa.EntraGlobalAdministrator) }
	withClaims := func(extra map[string]any) idpUser {
		u := admin()
		mergeClaims(u.claims, extra)
		return u
	}
	past := time.Now().Add(-time.Hour)

	cases := []struct {
		name   string
		user   idpUser
		alter  func(c *http.Client, f *flow) string // the callback URL the browser calls
		status int
		msg    string
		logged string // what the log says about it
	}{
		{"wrong state", admin(), func(_ *http.Client, f *flow) string {
			return withQuery(f.callback, "state", "forged-"+f.callback.Query().Get("state"))
		}, 400, "does not belong to the sign-in started in this browser", `reason="state mismatch"`},
		{"callback without state", admin(), func(_ *http.Client, f *flow) string {
			return withQuery(f.callback, "state", "")
		}, 400, "has no state", `reason="no state"`},
		{"callback without code", admin(), func(_ *http.Client, f *flow) string {
			return withQuery(f.callback, "code", "")
		}, 400, "has no code", `reason="no code"`},
		{"provider error", admin(), func(_ *http.Client, f *flow) string {
			q := url.Values{"error": {"access_denied"}, "error_description": {`<script>alert(1)</script> call +1 555 0100`}, "state": {f.callback.Query().Get("state")}}
			return e.srv.URL + "/auth/callback?" + q.Encode()
		}, 401, `answered with "access_denied"`, `provider_error="\"access_denied\""`},
		{"provider error with odd text", admin(), func(_ *http.Client, f *flow) string {
			return e.srv.URL + "/auth/callback?error=" + url.QueryEscape("<b>call us</b>") + "&state=" + f.callback.Query().Get("state")
		}, 401, "answered with an error", `provider_error="an error"`},
		{"sign-in cookie missing (another browser)", admin(), func(c *http.Client, f *flow) string {
			u, _ := url.Parse(e.srv.URL + "/auth/")
			c.Jar.SetCookies(u, []*http.Cookie{{Name: OIDCCookie, Value: "", MaxAge: -1, Path: "/auth"}})
			return f.callback.String()
		}, 400, "expired or was started in another browser", `reason="no sign-in cookie"`},
		{"sign-in cookie tampered", admin(), func(c *http.Client, f *flow) string {
			u, _ := url.Parse(e.srv.URL + "/auth/")
			v := []byte(f.flowCookie.Value)
			v[len(v)/2] ^= 1
			c.Jar.SetCookies(u, []*http.Cookie{{Name: OIDCCookie, Value: string(v), Path: "/auth"}})
			return f.callback.String()
		}, 400, "expired or was started in another browser", `reason="no sign-in cookie"`},
		{"wrong nonce", withClaims(map[string]any{"nonce": "not-the-nonce"}), nil, 401, "could not be verified", `reason="nonce mismatch"`},
		{"no nonce", withClaims(map[string]any{"nonce": ""}), nil, 401, "could not be verified", `reason="nonce mismatch"`},
		{"wrong audience (a token for another client)", withClaims(map[string]any{"aud": []string{"another-client"}}), nil, 401, "could not be verified", "expected audience"},
		{"several audiences, issued to another", withClaims(map[string]any{"aud": []string{"another-client", p.ClientID}, "azp": "another-client"}), nil, 401, "could not be verified", `reason="azp mismatch"`},
		{"wrong issuer", withClaims(map[string]any{"iss": "https://login.example.net/oidc"}), nil, 401, "could not be verified", "issued by a different provider"},
		{"expired token", withClaims(map[string]any{"iat": past.Add(-10 * time.Minute).Unix(), "nbf": past.Add(-10 * time.Minute).Unix(), "exp": past.Unix()}), nil, 401, "could not be verified", `reason="id token expired"`},
	}
	for _, tc := range cases {
		p.QueueUser(tc.user)
		c := e.client()
		f := e.startFlow(c, "/users")
		target := f.callback.String()
		if tc.alter != nil {
			target = tc.alter(c, f)
		}
		logsBefore := len(e.logs.String())
		resp, doc, _ := e.finish(c, target)
		if logged := e.logs.String()[logsBefore:]; !strings.Contains(logged, tc.logged) {
			t.Errorf("%s: refused for another reason than expected (%s):\n%s", tc.name, tc.logged, logged)
		}
		msg := doc.Find("#signin-error").Text()
		if resp.StatusCode != tc.status || !strings.Contains(msg, tc.msg) || sessionCookieSet(resp) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, resp.StatusCode, msg, tc.status, tc.msg)
		}
		if strings.Contains(doc.Text(), "alert(1)") || strings.Contains(doc.Text(), "555 0100") || strings.Contains(doc.Text(), "call us") {
			t.Errorf("%s: the provider's text is shown", tc.name)
		}
		if name, _ := e.header(c); name != "" {
			t.Errorf("%s: signed in as %q", tc.name, name)
		}
	}
	assertNoSecrets(t, e, p)
}

func withQuery(u *url.URL, k, v string) string {
	c := *u
	q := c.Query()
	if v == "" {
		q.Del(k)
	} else {
		q.Set(k, v)
	}
	c.RawQuery = q.Encode()
	return c.String()
}

func TestOIDCReplayedCodeIsRefused(t *testing.T) {
	p := newIDP(t, nil)
	e := newOIDCEnv(t, p, nil)
	p.QueueUser(person("ada@contoso.com", mfa.EntraGlobalAdministrator))
	c := e.client()
	f := e.startFlow(c, "/users")
	if resp, _, _ := e.finish(c, f.callback.String()); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use: %d", resp.StatusCode)
	}
	// The same answer again in the same browser: its sign-in cookie was used up.
	other := e.client()
	resp, doc, _ := e.finish(other, f.callback.String())
	if resp.StatusCode != http.StatusBadRequest || sessionCookieSet(resp) {
		t.Fatalf("replay without the sign-in cookie: %d %q", resp.StatusCode, doc.Find("#signin-error").Text())
	}
	// An attacker who also kept the sign-in cookie: the provider refuses the code a second time.
	u, _ := url.Parse(e.srv.URL + "/auth/")
	other.Jar.SetCookies(u, []*http.Cookie{{Name: OIDCCookie, Value: f.flowCookie.Value, Path: "/auth"}})
	resp, doc, _ = e.finish(other, f.callback.String())
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(doc.Find("#signin-error").Text(), "already used") || sessionCookieSet(resp) {
		t.Fatalf("replayed code: %d %q", resp.StatusCode, doc.Find("#signin-error").Text())
	}
	if name, _ := e.header(other); name != "" {
		t.Fatal("a replayed code signed someone in")
	}
	if !strings.Contains(e.logs.String(), "code exchange failed") || !strings.Contains(e.logs.String(), "invalid_grant") {
		t.Fatalf("the refusal is not logged with its reason:\n%s", e.logs)
	}
	assertNoSecrets(t, e, p)
}

func TestOIDCUnknownSigningKeyIsRefused(t *testing.T) {
	rogue, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := newIDP(t, rogue) // signs with a key its JWKS does not publish
	e := newOIDCEnv(t, p, nil)
	_, resp, doc := e.oidcSignIn(p, person("ada@contoso.com", mfa.EntraGlobalAdministrator), "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(doc.Find("#signin-error").Text(), "could not be verified") || sessionCookieSet(resp) {
		t.Fatalf("unknown key: %d %q", resp.StatusCode, doc.Find("#signin-error").Text())
	}
	if !strings.Contains(e.logs.String(), "signature") {
		t.Fatalf("the log does not say why:\n%s", e.logs)
	}
	assertNoSecrets(t, e, p)
}

func TestOIDCProviderUnreachableAtStartupIsRetried(t *testing.T) {
	// A free port where the provider is not running yet.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e := newTestEnvWith(t, func(cfg *Config, base string) {
		cfg.PublicURL = base
		cfg.OIDC = OIDCConfig{Issuer: "http://" + addr + mockoidc.IssuerBase, ClientID: "id"}
	})
	if !strings.Contains(e.logs.String(), "cannot be reached") {
		t.Fatalf("startup did not log the unreachable provider:\n%s", e.logs)
	}
	_, doc := e.get(e.client(), "/signin")
	if doc.Find("#oidc-signin").Length() != 1 {
		t.Fatal("the organisation button is missing while the provider is down")
	}
	resp, doc := e.get(e.client(), "/auth/login")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(doc.Find("#signin-error").Text(), "cannot be reached") {
		t.Fatalf("login while down: %d %q", resp.StatusCode, doc.Find("#signin-error").Text())
	}
	// The provider comes up: the next sign-in discovers it.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	p := startIDP(t, ln, nil)
	e.app.oidc.cfg.ClientID, e.app.oidc.cfg.ClientSecret = p.ClientID, p.ClientSecret
	e.app.oidc.backoff = 0
	c, resp, _ := e.oidcSignIn(p, person("ada@contoso.com", mfa.EntraGlobalReader), "")
	if name, _ := e.header(c); resp.StatusCode != http.StatusSeeOther || name != "ada@contoso.com" {
		t.Fatalf("after the provider came up: %d %q", resp.StatusCode, name)
	}
}

func TestOIDCOnlyWhenLocalAccountsAreOff(t *testing.T) {
	p := newIDP(t, nil)
	e := newOIDCEnv(t, p, nil)
	e.app.cfg.NoLocalAccounts = true
	_, doc := e.get(e.client(), "/signin")
	if doc.Find("#oidc-signin").Length() != 1 || doc.Find("#username, #password").Length() != 0 {
		t.Fatalf("sign-in page: %q", doc.Find(".signin").Text())
	}
	resp := e.signIn(e.client(), "global-admin", testPassword, "")
	if resp.StatusCode != http.StatusForbidden || sessionCookieSet(resp) {
		t.Fatalf("local sign-in while turned off: %d", resp.StatusCode)
	}
	// And no portal starts with nothing to sign in with.
	if _, err := New(Config{SessionKey: make([]byte, 64), NoLocalAccounts: true}, e.app.svc, e.db, e.db.Ping, e.app.log); err == nil {
		t.Fatal("a portal without any sign-in method started")
	}
	// Without OIDC, no organisation button and no /auth routes.
	plain := newTestEnv(t)
	_, doc = plain.get(plain.client(), "/signin")
	if doc.Find("#oidc-signin").Length() != 0 || doc.Find("#username").Length() != 1 {
		t.Fatal("a portal without OIDC offers organisation sign-in")
	}
	if resp, _ := plain.get(plain.client(), "/auth/login"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/auth/login without OIDC: %d", resp.StatusCode)
	}
}

func TestOIDCReturnsOnlyToThisSite(t *testing.T) {
	p := newIDP(t, nil)
	e := newOIDCEnv(t, p, nil)
	for next, want := range map[string]string{
		"/audit?actor=x":             "/audit?actor=x",
		"https://evil.example/":      "/users",
		"//evil.example/x":           "/users",
		"/\\evil.example":            "/users",
		"/auth/login?next=/x":        "/users",
		"/auth/callback?code=c":      "/users",
		"javascript:alert(document)": "/users",
	} {
		_, resp, _ := e.oidcSignIn(p, person("ada@contoso.com", mfa.EntraGlobalReader), next)
		if resp.Header.Get("Location") != want {
			t.Errorf("next=%q: went to %q, want %q", next, resp.Header.Get("Location"), want)
		}
	}
}

// assertNoSecrets checks that nothing the provider issued, nor the client secret, is in the
// portal's log or in the pages it answered the callbacks with.
func assertNoSecrets(t *testing.T, e *testEnv, p *idp) {
	t.Helper()
	logs, pages := e.logs.String(), e.pages.String()
	if pages == "" {
		t.Fatal("no callback pages were recorded")
	}
	for _, s := range p.secrets(t) {
		if strings.Contains(logs, s) {
			t.Fatalf("the log holds a token or secret (%.12s...)", s)
		}
		if strings.Contains(pages, s) {
			t.Fatalf("a page holds a token or secret (%.12s...)", s)
		}
	}
	if strings.Contains(logs, "code_verifier") || strings.Contains(logs, "id_token") {
		t.Fatal("the log mentions the token exchange's content")
	}
}
