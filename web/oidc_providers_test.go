package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// Providers other than Entra (Dex, Keycloak, Authentik): a role claim missing from the ID token is
// named on the page and in the log with how to get it; a custom claim's page lists the values that
// give access instead of Entra's roles.
func TestOIDCNonEntraProviders(t *testing.T) {
	p := newIDP(t, nil)
	roleMap, err := mfa.ParseRoleMap(`"cn=mfa-admins,ou=groups"=global-admin,mfa-helpdesk=helpdesk`)
	if err != nil {
		t.Fatal(err)
	}
	e := newOIDCEnv(t, p, func(c *OIDCConfig) { c.RoleClaim, c.RoleMap = "groups", mfa.EntraRoleMap().With(roleMap) })

	// No groups claim at all (Dex without the groups scope).
	_, resp, doc := e.oidcSignIn(p, idpUser{sub: "x", claims: map[string]any{"preferred_username": "dex@contoso.com"}}, "")
	hint := doc.Find("[data-testid=claim-hint]").Text()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(hint, "No groups claim") || !strings.Contains(hint, "add the groups scope") {
		t.Fatalf("missing claim: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	if !strings.Contains(e.logs.String(), "no groups claim in the ID token") || !strings.Contains(e.logs.String(), "add the groups scope") {
		t.Fatalf("the log does not name the missing claim:\n%s", e.logs)
	}
	// A groups claim without a value that maps: the page lists the configured values.
	_, resp, doc = e.oidcSignIn(p, idpUser{sub: "y", claims: map[string]any{"preferred_username": "kc@contoso.com", "groups": []string{"staff"}}}, "")
	values := doc.Find("[data-testid=claim-values]").Text()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(values, "cn=mfa-admins,ou=groups") || !strings.Contains(values, "mfa-helpdesk") ||
		strings.Contains(doc.Find("main").Text(), "global reader") || strings.Contains(values, mfa.EntraGlobalAdministrator) {
		t.Fatalf("custom claim: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	// A value with a comma maps.
	c, resp, _ := e.oidcSignIn(p, idpUser{sub: "z", claims: map[string]any{"preferred_username": "boss@contoso.com", "groups": []string{"staff", "cn=mfa-admins,ou=groups"}}}, "")
	if _, role := e.header(c); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(role, "Global administrator") {
		t.Fatalf("comma value: %d %q", resp.StatusCode, role)
	}
}

// An issuer that does not match the discovery document is reported as that, on the page and in
// the log, not as a provider that cannot be reached.
func TestOIDCIssuerMismatchIsNamed(t *testing.T) {
	p := newIDP(t, nil)
	e := newOIDCEnv(t, p, func(c *OIDCConfig) { c.Issuer = p.Issuer() + "/" })
	if !strings.Contains(e.logs.String(), "the issuer does not match the provider's discovery document") {
		t.Fatalf("startup log:\n%s", e.logs)
	}
	resp, doc := e.get(e.client(), "/auth/login")
	msg := doc.Find("#signin-error").Text()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(msg, "misconfigured") || !strings.Contains(msg, p.Issuer()+"/") ||
		strings.Contains(msg, "cannot be reached") {
		t.Fatalf("login: %d %q", resp.StatusCode, msg)
	}
}
