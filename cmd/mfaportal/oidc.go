package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/web"
)

// oidcSettings is organisation sign-in (SPEC §6) and whether local accounts stay available.
type oidcSettings struct {
	Issuer        string
	ClientID      string
	ClientSecret  string // MFAPORTAL_OIDC_CLIENT_SECRET only: never a flag, so it stays out of `ps`
	RedirectURL   string
	Scopes        string
	RoleClaim     string
	RoleMap       string
	LocalAccounts bool
}

func oidcFlags(fs *flag.FlagSet, o *oidcSettings) {
	fs.StringVar(&o.Issuer, "oidc-issuer", "", "OpenID Connect issuer URL for organisation sign-in, e.g. https://login.microsoftonline.com/TENANT-ID/v2.0 (off when empty)")
	fs.StringVar(&o.ClientID, "oidc-client-id", "", "the portal's client (application) id at the identity provider")
	fs.StringVar(&o.RedirectURL, "oidc-redirect-url", "", "redirect URI registered at the provider (default PUBLIC-URL/auth/callback)")
	fs.StringVar(&o.Scopes, "oidc-scopes", "openid profile email", "scopes to ask for, space-separated")
	fs.StringVar(&o.RoleClaim, "oidc-role-claim", "wids", "ID token claim whose values give the role: wids (Entra directory roles), roles, groups or any other; a.b for nested claims")
	fs.StringVar(&o.RoleMap, "oidc-role-map", "", "claim value → role, as value=role,value=role (added to the built-in Entra wids map)")
	fs.BoolVar(&o.LocalAccounts, "local-accounts", true, "allow sign-in with local accounts (set false to allow organisation sign-in only)")
}

// webConfig checks the settings and turns them into the web server's, with the public URL the
// default redirect URI is built on.
func (o *oidcSettings) webConfig(publicURL string) (web.OIDCConfig, error) {
	if o.Issuer == "" {
		if !o.LocalAccounts {
			return web.OIDCConfig{}, errors.New("--local-accounts=false needs organisation sign-in (--oidc-issuer): nobody could sign in")
		}
		return web.OIDCConfig{}, nil
	}
	if err := checkProviderURL("--oidc-issuer", o.Issuer); err != nil {
		return web.OIDCConfig{}, err
	}
	if strings.TrimSpace(o.ClientID) == "" {
		return web.OIDCConfig{}, errors.New("--oidc-client-id is required with --oidc-issuer")
	}
	redirect := o.RedirectURL
	if redirect == "" {
		redirect = publicURL + "/auth/callback"
	}
	if u, err := url.Parse(redirect); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "/auth/callback" {
		return web.OIDCConfig{}, fmt.Errorf("--oidc-redirect-url %q: expected an absolute http(s) URL ending in /auth/callback", redirect)
	}
	scopes := strings.FieldsFunc(o.Scopes, func(r rune) bool { return r == ' ' || r == ',' })
	claim := strings.TrimSpace(o.RoleClaim)
	if claim == "" {
		return web.OIDCConfig{}, errors.New("--oidc-role-claim must not be empty (the default is wids)")
	}
	extra, err := mfa.ParseRoleMap(o.RoleMap)
	if err != nil {
		return web.OIDCConfig{}, fmt.Errorf("--oidc-role-map: %s", mfa.ErrorMessage(err))
	}
	return web.OIDCConfig{Issuer: o.Issuer, ClientID: strings.TrimSpace(o.ClientID), ClientSecret: o.ClientSecret,
		RedirectURL: redirect, Scopes: scopes, RoleClaim: claim, RoleMap: mfa.EntraRoleMap().With(extra)}, nil
}

// checkProviderURL accepts https URLs, and http only on the loopback interface (for tests and
// local providers): tokens must never cross a network in clear.
func checkProviderURL(flagName, s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s %q: expected an https:// URL", flagName, s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("%s %q: expected an https:// URL (http:// only on localhost)", flagName, s)
}
