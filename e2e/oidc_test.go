package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/web"
)

// idpUser signs in at the test identity provider with the claims of their ID token.
type idpUser struct {
	sub    string
	claims map[string]any
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

// startPortalWithOIDC boots the portal with organisation sign-in at a real OpenID provider
// (mockoidc) running on 127.0.0.1, and returns the portal's base URL and the provider.
func startPortalWithOIDC(t *testing.T) (string, *mockoidc.MockOIDC) {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	base := startPortalWith(t, func(cfg *web.Config, baseURL string) {
		cfg.PublicURL = baseURL
		cfg.OIDC = web.OIDCConfig{Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}
	})
	return base, m
}

func TestOrganisationSignInInBrowser(t *testing.T) {
	base, idp := startPortalWithOIDC(t)
	ctx := newBrowser(t)
	idp.QueueUser(idpUser{sub: "ada", claims: map[string]any{"preferred_username": "ada@contoso.com", "wids": []string{mfa.EntraGlobalAdministrator}}})

	// Signed out: sent to sign-in, which offers the organisation first.
	run(t, ctx, "open the audit log", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible("#oidc-signin", chromedp.ByID))
	if got := text(t, ctx, "#oidc-signin"); got != "Sign in with your organisation" {
		t.Fatalf("button %q", got)
	}
	// Through the provider (authorization code with PKCE) and back to the page asked for.
	run(t, ctx, "organisation sign-in",
		chromedp.Click("#oidc-signin", chromedp.ByID),
		chromedp.WaitVisible("[data-testid=signed-in-name]", chromedp.ByQuery),
		chromedp.WaitVisible("[data-testid=audit], [data-testid=empty]", chromedp.ByQuery))
	if u := location(t, ctx); u != base+"/audit" {
		t.Fatalf("after sign-in at %s", u)
	}
	if got := text(t, ctx, "[data-testid=signed-in-name]"); got != "ada@contoso.com" {
		t.Fatalf("signed in as %q", got)
	}
	if got := strings.Join(strings.Fields(text(t, ctx, "header .role")), " "); got != "Global administrator · organisation sign-in" {
		t.Fatalf("role line %q", got)
	}
	if got := texts(t, ctx, "nav.tabs a"); !slices.Contains(got, "local accounts") || !slices.Contains(got, "API tokens") {
		t.Fatalf("administration links %q", got)
	}

	// Sign out, then someone without a portal role: a clear page, and still signed out.
	run(t, ctx, "sign out", chromedp.Click("header form button", chromedp.ByQuery), chromedp.WaitVisible("#oidc-signin", chromedp.ByID))
	idp.QueueUser(idpUser{sub: "bob", claims: map[string]any{"preferred_username": "bob@contoso.com", "wids": []string{"b79fbf4d-3ef9-4689-8143-76b194e85509"}}})
	run(t, ctx, "sign in without a role",
		chromedp.Click("#oidc-signin", chromedp.ByID),
		chromedp.WaitVisible("[data-testid=no-access]", chromedp.ByQuery))
	if h := text(t, ctx, "h1"); h != "No access" || !strings.Contains(text(t, ctx, "[data-testid=no-access]"), "bob@contoso.com") {
		t.Fatalf("no access page: %q", h)
	}
	run(t, ctx, "users after refusal", chromedp.Navigate(base+"/users"), chromedp.WaitVisible("#oidc-signin", chromedp.ByID))
}
