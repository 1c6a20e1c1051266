package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/securecookie"

	"github.com/mfaportal/mfaportal/mfa"
)

// sessionClient is a browser signed in with a role, its session made directly in the store (a
// sign-in per request would cost an argon2 hash each).
func (e *testEnv) sessionClient(role mfa.Role) *http.Client {
	e.t.Helper()
	id := randomString()
	if err := e.db.CreateSession(context.Background(), &mfa.Session{ID: id, Account: string(role), Role: role, Method: "local", CreatedAt: e.now, LastSeenAt: e.now}); err != nil {
		e.t.Fatal(err)
	}
	v, err := securecookie.EncodeMulti(SessionCookie, id, e.app.sessions.Codecs...)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.client()
	u, _ := url.Parse(e.srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: v, Path: "/"}})
	return c
}

// walkedRoute is a route as chi registered it.
type walkedRoute struct{ method, pattern string }

func (e *testEnv) walkRoutes() []walkedRoute {
	e.t.Helper()
	var out []walkedRoute
	err := chi.Walk(e.app.handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, walkedRoute{method, route})
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

var routeParam = regexp.MustCompile(`\{[^}]+\}`)

// examplePath is a path that the pattern matches: a real user for {upn}, a real file for *.
func examplePath(pattern string) string {
	p := strings.ReplaceAll(pattern, "{upn}", "step.user@contoso.com")
	p = routeParam.ReplaceAllString(p, "x")
	return strings.Replace(p, "*", "app.css", 1)
}

// TestEveryRouteHasARule walks every route chi has registered and calls it signed out, as each
// role (with a session and, for the API, with a token) and with a bad token. A route without an
// entry in the permission table fails here; so does one whose guard answers otherwise than the
// table says: allowed, 403, a redirect to sign-in, or 401 for the API.
func TestEveryRouteHasARule(t *testing.T) {
	p := newIDP(t, nil)
	e := newOIDCEnv(t, p, nil)
	e.stepUsers()
	tokens := map[mfa.Role]string{}
	for _, r := range mfa.Roles {
		secret, _, err := e.app.svc.CreateToken(context.Background(), mfa.CLIActor, "walk-"+string(r), r)
		if err != nil {
			t.Fatal(err)
		}
		tokens[r] = secret
	}
	routes := e.walkRoutes()
	if len(routes) < 20 {
		t.Fatalf("walked only %d routes", len(routes))
	}
	seen := map[string]bool{}
	for _, rt := range routes {
		key := rt.method + " " + rt.pattern
		seen[key] = true
		rule, ok := e.app.rules[key]
		if !ok {
			t.Errorf("%s has no entry in the permission table: register it with s.public or s.allow in routes.go", key)
			continue
		}
		path := examplePath(rt.pattern)
		api := isAPIPath(path)
		call := func(c *http.Client, token string) *http.Response {
			t.Helper()
			var body io.Reader
			if rt.method != http.MethodGet {
				body = strings.NewReader(map[bool]string{true: "{}", false: ""}[api])
			}
			req, _ := http.NewRequest(rt.method, e.srv.URL+path, body)
			if body != nil {
				req.Header.Set("Content-Type", map[bool]string{true: "application/json", false: "application/x-www-form-urlencoded"}[api])
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			if c == nil {
				c = e.client()
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		isJSON := func(resp *http.Response) bool {
			return strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
		}
		toSignIn := func(resp *http.Response) bool {
			return resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=") ||
				resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/signin"
		}
		if rule.basic {
			// A non-browser app's route: without HTTP Basic, with any admin's session or with an
			// API token, 401 with the Basic challenge.
			for _, role := range append([]mfa.Role{""}, mfa.Roles...) {
				var c *http.Client
				if role != "" {
					c = e.sessionClient(role)
				}
				if resp := call(c, tokens[role]); resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
					t.Errorf("%s as %q: %d, want 401 with a Basic challenge", key, role, resp.StatusCode)
				}
			}
			continue
		}
		if rule.user != nil {
			// A user's page: signed out, with any admin's session or with an API token, the
			// browser is sent to the users' sign-in; no handler runs.
			toUserSignIn := func(resp *http.Response) bool {
				return resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/my/signin"
			}
			if resp := call(nil, ""); !toUserSignIn(resp) {
				t.Errorf("%s signed out: %d %q, want the users' sign-in", key, resp.StatusCode, resp.Header.Get("Location"))
			}
			for _, role := range mfa.Roles {
				if resp := call(e.sessionClient(role), tokens[role]); !toUserSignIn(resp) {
					t.Errorf("%s as %s: %d %q, want the users' sign-in", key, role, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
			continue
		}
		if rule.public {
			for _, who := range append([]mfa.Role{""}, mfa.Roles...) {
				var c *http.Client
				if who != "" {
					c = e.sessionClient(who)
				}
				if resp := call(c, ""); resp.StatusCode == 401 || resp.StatusCode == 403 || toSignIn(resp) {
					t.Errorf("public %s as %q: %d %q", key, who, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
			continue
		}
		// Signed out.
		resp := call(nil, "")
		switch {
		case api && (resp.StatusCode != 401 || !isJSON(resp) || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer")):
			t.Errorf("%s signed out: %d %s, want 401 JSON", key, resp.StatusCode, resp.Header.Get("Content-Type"))
		case !api && !toSignIn(resp):
			t.Errorf("%s signed out: %d %q, want a redirect to sign-in", key, resp.StatusCode, resp.Header.Get("Location"))
		case !api && rt.method == http.MethodGet && resp.Header.Get("Location") != "/signin?next="+url.QueryEscape(path):
			t.Errorf("%s signed out: back to %q after sign-in", key, resp.Header.Get("Location"))
		}
		// Each role, with a session and (API) with a token.
		for _, role := range mfa.Roles {
			ways := map[string]func() *http.Response{"session": func() *http.Response { return call(e.sessionClient(role), "") }}
			if api {
				ways["token"] = func() *http.Response { return call(nil, tokens[role]) }
			}
			for way, do := range ways {
				resp := do()
				if role.Can(rule.perm) {
					if resp.StatusCode == 401 || resp.StatusCode == 403 || toSignIn(resp) {
						t.Errorf("%s as %s (%s): %d, want allowed (%s)", key, role, way, resp.StatusCode, rule.perm)
					}
				} else if resp.StatusCode != 403 || api != isJSON(resp) {
					t.Errorf("%s as %s (%s): %d %s, want 403 (%s)", key, role, way, resp.StatusCode, resp.Header.Get("Content-Type"), rule.perm)
				}
			}
		}
		if api {
			// A bad token is 401 even with a valid session cookie beside it.
			for _, bad := range []string{"mfap_" + strings.Repeat("A", 43), "not-a-token"} {
				if resp := call(e.sessionClient(mfa.RoleGlobalAdmin), bad); resp.StatusCode != 401 || !isJSON(resp) {
					t.Errorf("%s with a bad token: %d", key, resp.StatusCode)
				}
			}
		}
	}
	for key := range e.app.rules {
		if !seen[key] {
			t.Errorf("the permission table names %s, which is not a route", key)
		}
	}
}

// Every state-changing route refuses a cross-site request from a browser before its handler,
// whatever the role; GETs are never refused for it.
func TestEveryStateChangingRouteRefusesCrossSiteRequests(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	before := e.user("step.user@contoso.com").Version
	for _, rt := range e.walkRoutes() {
		if rt.method == http.MethodGet {
			continue
		}
		for _, site := range []string{"cross-site", "same-site"} {
			req, _ := http.NewRequest(rt.method, e.srv.URL+examplePath(rt.pattern), strings.NewReader("step=enable&sel=1+step.user%40contoso.com&name=x&password=correct+horse+battery+staple"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", site)
			resp, err := e.sessionClient(mfa.RoleGlobalAdmin).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || len(resp.Header.Values("Set-Cookie")) > 0 {
				t.Errorf("%s %s from %s: %d", rt.method, rt.pattern, site, resp.StatusCode)
			}
		}
	}
	if e.user("step.user@contoso.com").Version != before {
		t.Fatal("a cross-site request changed a user")
	}
	if list, _ := e.db.ListTokens(context.Background()); len(list) != 0 {
		t.Fatal("a cross-site request created a token")
	}
}

func TestRuleTableMatchesSpec(t *testing.T) {
	// A few rows read against SPEC §3, to catch a wrong permission that the walk would accept.
	e := newTestEnv(t)
	want := map[string]mfa.Permission{
		"GET /users":                     mfa.PermView,
		"GET /audit":                     mfa.PermView,
		"POST /settings":                 mfa.PermSaveSettings,
		"PUT /api/v1/settings":           mfa.PermSaveSettings,
		"POST /api/v1/users/{upn}/state": mfa.PermChangeState,
		"POST /api/v1/users/{upn}/reset": mfa.PermManageSettings,
		"GET /tokens":                    mfa.PermAdminister,
		"POST /tokens":                   mfa.PermAdminister,
		"POST /tokens/revoke":            mfa.PermAdminister,
		"GET /accounts":                  mfa.PermAdminister,
		"POST /accounts":                 mfa.PermAdminister,
		"POST /accounts/remove":          mfa.PermAdminister,
		"GET /bulk":                      mfa.PermBulkUpdate,
	}
	for key, perm := range want {
		if r, ok := e.app.rules[key]; !ok || r.public || r.perm != perm {
			t.Errorf("%s: %+v, want %s", key, r, perm)
		}
	}
	var public []string
	for key, r := range e.app.rules {
		if r.public {
			public = append(public, key)
		}
	}
	slices.Sort(public)
	if got := strings.Join(public, ", "); got != "GET /auth/callback, GET /auth/login, GET /healthz, GET /metrics, "+
		"GET /my/setup/{secret}, GET /my/signin, GET /readyz, GET /signin, GET /signin/mfa, GET /static/*, POST /my/setup/{secret}, "+
		"POST /my/signin, POST /my/signout, POST /signin, POST /signin/mfa, POST /signout" {
		t.Errorf("public routes: %s", got)
	}
}
