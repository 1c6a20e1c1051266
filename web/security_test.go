package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// sessionValue is the value of the session cookie a client holds.
func (e *testEnv) sessionValue(c *http.Client) string {
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == SessionCookie {
			return ck.Value
		}
	}
	return ""
}

// A session cookie that someone planted before sign-in (their own, or an old one) is never the
// session after sign-in: sign-in makes a new id and deletes the old session.
func TestNoSessionFixation(t *testing.T) {
	p := newIDP(t, nil)
	e := newOIDCEnv(t, p, nil)
	u, _ := url.Parse(e.srv.URL)
	signIns := map[string]func(c *http.Client){
		"local": func(c *http.Client) {
			if resp := e.signIn(c, "global-admin", testPassword, ""); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("local sign-in: %d", resp.StatusCode)
			}
		},
		"oidc": func(c *http.Client) {
			p.QueueUser(person("victim@contoso.com", mfa.EntraGlobalAdministrator))
			f := e.startFlow(c, "/users")
			if resp, _, _ := e.finish(c, f.callback.String()); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("oidc sign-in: %d", resp.StatusCode)
			}
		},
	}
	for name, signIn := range signIns {
		attacker := e.signedIn(mfa.RoleReader)
		planted := e.sessionValue(attacker)
		victim := e.client()
		victim.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: planted, Path: "/"}})
		signIn(victim)
		if got := e.sessionValue(victim); got == "" || got == planted {
			t.Fatalf("%s: the planted session cookie was kept", name)
		}
		if who, role := e.header(victim); !strings.HasPrefix(role, "Global administrator") {
			t.Fatalf("%s: victim is %q %q", name, who, role)
		}
		// The attacker's cookie does not carry the victim's sign-in (nor its own session any more).
		if who, role := e.header(attacker); strings.HasPrefix(role, "Global administrator") || who != "" {
			t.Fatalf("%s: the planted cookie now acts as %q %q", name, who, role)
		}
	}
}

// Behind https (the public URL), every cookie is Secure and HSTS is sent.
func TestCookiesAreSecureBehindHTTPS(t *testing.T) {
	p := newIDP(t, nil)
	e := newTestEnvWith(t, func(cfg *Config, base string) {
		cfg.PublicURL = "https://mfa.contoso.example"
		cfg.OIDC = OIDCConfig{Issuer: p.Issuer(), ClientID: p.ClientID, ClientSecret: p.ClientSecret}
	})
	resp := e.signIn(e.client(), "reader", testPassword, "")
	var session, flow string
	for _, h := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(h, SessionCookie+"=") {
			session = h
		}
	}
	resp, err := e.client().Get(e.srv.URL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, h := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(h, OIDCCookie+"=") {
			flow = h
		}
	}
	for name, c := range map[string]string{"session": session, "sign-in": flow} {
		for _, want := range []string{"Secure", "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(c, want) {
				t.Errorf("%s cookie %q lacks %s", name, c, want)
			}
		}
	}
	if q, _ := url.Parse(resp.Header.Get("Location")); q.Query().Get("redirect_uri") != "https://mfa.contoso.example/auth/callback" {
		t.Errorf("redirect URI %q", q.Query().Get("redirect_uri"))
	}
	if !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Error("no HSTS behind https")
	}
}

// Password guessing is slowed per client address too: failures spread over many account names
// block the address, even for a right password.
func TestSignInThrottlesPerAddress(t *testing.T) {
	e := newTestEnv(t)
	for i := range 10 {
		e.signIn(e.client(), "guess"+string(rune('a'+i)), "wrong password!", "")
	}
	if resp := e.signIn(e.client(), "reader", testPassword, ""); resp.StatusCode != http.StatusTooManyRequests || sessionCookieSet(resp) {
		t.Fatalf("after 10 failures from one address: %d", resp.StatusCode)
	}
	if !strings.Contains(e.logs.String(), "sign-in failed") || strings.Contains(e.logs.String(), "wrong password!") {
		t.Fatal("failures are not logged, or the guessed password is")
	}
}

// Every kind of response carries the security headers: pages, errors, JSON, redirects.
func TestSecurityHeadersEverywhere(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	for _, path := range []string{"/users", "/nope", "/tokens", "/api/v1/users?limit=1", "/api/v1/nope", "/signin", "/"} {
		resp, err := c.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s (%d): headers %v", path, resp.StatusCode, h)
		}
	}
}
