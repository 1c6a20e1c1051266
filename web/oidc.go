package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/securecookie"
	"golang.org/x/oauth2"

	"github.com/mfaportal/mfaportal/mfa"
)

// OIDCConfig is organisation sign-in with OpenID Connect (SPEC §6). It is off when Issuer is "".
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, exactly as in its discovery document, e.g.
	// https://login.microsoftonline.com/TENANT-ID/v2.0 for Entra ID.
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string   // default: the public URL + /auth/callback
	Scopes       []string // default: openid profile email
	// RoleClaim is the claim that holds the values RoleMap maps to roles: a string or an array of
	// strings, at the top level or at a dotted path (realm_access.roles). Default: wids.
	RoleClaim string
	RoleMap   mfa.RoleMap // default: mfa.EntraRoleMap()
	// HTTPClient talks to the provider (discovery, keys, token exchange). Default: a 15 s timeout.
	HTTPClient *http.Client
	// Now is the clock that ID token expiry is checked against. Default: time.Now.
	Now func() time.Time
}

// OIDCCookie holds one sign-in's state, nonce, PKCE verifier and return URL, signed and encrypted,
// for the ten minutes between /auth/login and /auth/callback.
const OIDCCookie = "mfaportal_oidc"

const (
	oidcFlowMaxAge   = 10 * time.Minute
	oidcCookiePath   = "/auth"
	oidcRetryBackoff = 5 * time.Second
)

// flowState is what the sign-in cookie carries from the redirect to the callback.
type flowState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"r"`
}

// oidcFlow is the authorization code flow with PKCE (S256), state and nonce. The provider is
// discovered at startup; if it cannot be reached then, discovery is retried at the next sign-in.
type oidcFlow struct {
	cfg    OIDCConfig
	log    *slog.Logger
	codec  securecookie.Codec
	secure bool

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	lastTry  time.Time
	lastErr  error
	backoff  time.Duration // between discovery attempts while the provider cannot be reached
}

func newOIDCFlow(cfg OIDCConfig, publicURL string, key []byte, secure bool, log *slog.Logger) *oidcFlow {
	if cfg.RedirectURL == "" {
		cfg.RedirectURL = strings.TrimRight(publicURL, "/") + "/auth/callback"
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
		cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "wids"
	}
	if cfg.RoleMap == nil {
		cfg.RoleMap = mfa.EntraRoleMap()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// The session key signs and encrypts this cookie too; the cookie's name is part of what is
	// signed, so a session cookie can never pass for a sign-in cookie or the other way round.
	codec := securecookie.New(key[:32], key[32:64])
	codec.MaxAge(int(oidcFlowMaxAge / time.Second))
	codec.SetSerializer(securecookie.JSONEncoder{})
	return &oidcFlow{cfg: cfg, log: log, codec: codec, secure: secure, backoff: oidcRetryBackoff}
}

// discover fetches the provider's discovery document, at most once every few seconds while the
// provider cannot be reached, and returns the OAuth2 configuration and the ID token verifier.
func (o *oidcFlow) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.oauth != nil {
		return o.oauth, o.verifier, nil
	}
	if !o.lastTry.IsZero() && time.Since(o.lastTry) < o.backoff {
		return nil, nil, o.lastErr // what the last attempt, a moment ago, found
	}
	o.lastTry = time.Now()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, o.cfg.HTTPClient), o.cfg.Issuer)
	o.lastErr = err
	var mismatch *oidc.IssuerMismatchError
	if errors.As(err, &mismatch) {
		o.log.Error("organisation sign-in: the issuer does not match the provider's discovery document; set MFAPORTAL_OIDC_ISSUER to the issuer it names",
			"issuer", mismatch.Provided, "discovered_issuer", mismatch.Discovered)
		return nil, nil, err
	}
	if err != nil {
		o.log.Warn("organisation sign-in: the identity provider cannot be reached; retrying at the next sign-in",
			"issuer", o.cfg.Issuer, "err", err)
		return nil, nil, err
	}
	o.oauth = &oauth2.Config{
		ClientID:     o.cfg.ClientID,
		ClientSecret: o.cfg.ClientSecret,
		Endpoint:     provider.Endpoint(),
		RedirectURL:  o.cfg.RedirectURL,
		Scopes:       o.cfg.Scopes,
	}
	// Verify checks the signature against the provider's keys, the issuer, the audience (our
	// client id) and the expiry. It does not check the nonce: the callback does.
	o.verifier = provider.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: o.cfg.Now})
	o.log.Info("organisation sign-in: identity provider discovered", "issuer", o.cfg.Issuer)
	return o.oauth, o.verifier, nil
}

// cookie is the sign-in cookie with every option set explicitly: host-only, /auth only,
// HttpOnly, SameSite=Lax (the provider's redirect back is a top-level GET, which Lax allows),
// Secure behind https. maxAge < 0 deletes it.
func (o *oidcFlow) cookie(value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: OIDCCookie, Value: value, Path: oidcCookiePath, MaxAge: maxAge,
		Secure: o.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if maxAge > 0 {
		c.Expires = time.Now().Add(time.Duration(maxAge) * time.Second)
	} else {
		c.Expires = time.Unix(1, 0)
	}
	return c
}

// randomString is 32 random bytes in base64url: a state, a nonce.
func randomString() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// oidcSignInURL is where the sign-in page's organisation button goes.
func oidcSignInURL(next string) string {
	return "/auth/login?next=" + url.QueryEscape(next)
}

// authLogin is GET /auth/login?next=: start organisation sign-in. It is a link, not a form,
// because the CSP's form-action 'self' would stop a form's redirect to the provider.
func (s *Server) authLogin(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.h.NotFound(w, r)
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	oauth, _, err := s.oidc.discover(r.Context())
	if err != nil {
		s.signInFailed(w, r, http.StatusServiceUnavailable, next, discoveryMessage(err))
		return
	}
	f := flowState{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(), Next: next}
	encoded, err := securecookie.EncodeMulti(OIDCCookie, f, s.oidc.codec)
	if err != nil {
		s.h.ErrorPage(w, r, err)
		return
	}
	http.SetCookie(w, s.oidc.cookie(encoded, int(oidcFlowMaxAge/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, oauth.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), http.StatusFound)
}

// providerError is a provider's error code (RFC 6749 §4.1.2.1) if it looks like one; its
// error_description is never shown, since anyone can put text there in a link.
var providerError = regexp.MustCompile(`^[a-z_]{1,40}$`)

// authCallback is GET /auth/callback: the provider's answer. Every check fails closed with a
// page that says what to do and a log line that names the reason, never a token or a secret.
func (s *Server) authCallback(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.h.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	// The sign-in cookie is used once: cleared whatever happens next.
	var f flowState
	var haveFlow bool
	if c, err := r.Cookie(OIDCCookie); err == nil {
		haveFlow = securecookie.DecodeMulti(OIDCCookie, c.Value, &f, s.oidc.codec) == nil && f.State != ""
		http.SetCookie(w, s.oidc.cookie("", -1))
	}
	next := "/users"
	if haveFlow {
		next = safeNext(f.Next)
	}
	refuse := func(status int, reason, message string, attrs ...any) {
		s.log.WarnContext(r.Context(), "organisation sign-in refused", append([]any{"reason", reason, "remote", clientIP(r)}, attrs...)...)
		s.signInFailed(w, r, status, next, message)
	}
	if e := q.Get("error"); e != "" {
		code := "an error"
		if providerError.MatchString(e) {
			code = `"` + e + `"`
		}
		refuse(http.StatusUnauthorized, "provider error", "Your organisation's sign-in was not completed: the identity provider answered with "+code+". Sign in again, or ask your administrator.",
			"provider_error", code)
		return
	}
	state, code := q.Get("state"), q.Get("code")
	switch {
	case state == "":
		refuse(http.StatusBadRequest, "no state", "This sign-in answer is incomplete (it has no state). Sign in again.")
		return
	case !haveFlow:
		refuse(http.StatusBadRequest, "no sign-in cookie", "This sign-in has expired or was started in another browser. Sign in again.")
		return
	case subtle.ConstantTimeCompare([]byte(state), []byte(f.State)) != 1:
		refuse(http.StatusBadRequest, "state mismatch", "This sign-in answer does not belong to the sign-in started in this browser. Sign in again.")
		return
	case code == "":
		refuse(http.StatusBadRequest, "no code", "This sign-in answer is incomplete (it has no code). Sign in again.")
		return
	}
	oauth, verifier, err := s.oidc.discover(r.Context())
	if err != nil {
		refuse(http.StatusServiceUnavailable, "provider unreachable or misconfigured", discoveryMessage(err))
		return
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), s.oidc.cfg.HTTPClient), 20*time.Second)
	defer cancel()
	tok, err := oauth.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		refuse(http.StatusUnauthorized, "code exchange failed", "The identity provider did not confirm this sign-in (the sign-in code was refused or already used). Sign in again.",
			exchangeErrorAttrs(err)...)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		refuse(http.StatusUnauthorized, "no id token", "The identity provider sent no identity token. Ask your administrator to check that the portal asks for the openid scope.")
		return
	}
	const unverified = "The identity provider's answer could not be verified, so you are not signed in. Sign in again; if this keeps happening, ask your administrator to check the portal's organisation sign-in settings."
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		reason := "id token not valid"
		if errors.As(err, &expired) {
			reason = "id token expired"
		}
		refuse(http.StatusUnauthorized, reason, unverified, "err", err.Error())
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		refuse(http.StatusUnauthorized, "nonce mismatch", unverified)
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		refuse(http.StatusUnauthorized, "claims unreadable", unverified, "err", err.Error())
		return
	}
	// With several audiences, the token must have been issued to us (OIDC Core 3.1.3.7).
	if azp, _ := claims["azp"].(string); len(idt.Audience) > 1 && azp != s.oidc.cfg.ClientID {
		refuse(http.StatusUnauthorized, "azp mismatch", unverified)
		return
	}
	name := actorName(claims)
	// A verified sign-in ends whatever session this browser had, before any new one is made.
	if err := s.dropSession(r); err != nil {
		s.h.ErrorPage(w, r, err)
		return
	}
	values, found := claimValues(claims, s.oidc.cfg.RoleClaim)
	role, ok := s.oidc.cfg.RoleMap.Resolve(values)
	if !ok {
		s.noAccess(w, r, name, found, len(values))
		return
	}
	if err := s.startSession(w, r, name, role, "oidc"); err != nil {
		s.h.ErrorPage(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "signed in", "account", name, "role", role, "method", "oidc", "remote", clientIP(r))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// exchangeErrorAttrs describes a failed code exchange for the log: the provider's error code and
// status, never its response body or description (they may echo the code).
func exchangeErrorAttrs(err error) []any {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		attrs := []any{"provider_error", re.ErrorCode}
		if re.Response != nil {
			attrs = append(attrs, "status", re.Response.StatusCode)
		}
		return attrs
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return []any{"err", ue.Err.Error()}
	}
	return []any{"err", "token exchange failed"}
}

// actorName is the signed-in person's name for the header and the audit log: preferred_username,
// email, name or sub, the first that is set, without control characters, at most 256 characters.
func actorName(claims map[string]any) string {
	for _, k := range []string{"preferred_username", "email", "name", "sub"} {
		if v, ok := claims[k].(string); ok {
			v = strings.TrimSpace(strings.Map(func(r rune) rune {
				if unicode.IsControl(r) {
					return -1
				}
				return r
			}, v))
			if v != "" {
				if r := []rune(v); len(r) > 256 {
					v = string(r[:256])
				}
				return v
			}
		}
	}
	return "(unnamed)"
}

// claimFound says how the role claim was found in the ID token.
type claimFound int

const (
	claimPresent claimFound = iota
	claimMissing            // not in the token: the provider was not asked for it (a scope, a mapper)
	claimOverage            // Entra's "groups overage": too many groups, a claim source instead
)

// claimValues reads a role claim: a string, or an array of strings (numbers are written out), at
// the top level or at a dotted path such as realm_access.roles.
func claimValues(claims map[string]any, claim string) (values []string, found claimFound) {
	v, ok := claims[claim]
	if !ok && strings.Contains(claim, ".") {
		var cur any = claims
		for part := range strings.SplitSeq(claim, ".") {
			m, isMap := cur.(map[string]any)
			if !isMap {
				cur = nil
				break
			}
			cur = m[part]
		}
		v, ok = cur, cur != nil
	}
	if !ok {
		if names, isMap := claims["_claim_names"].(map[string]any); isMap {
			if _, over := names[claim]; over {
				return nil, claimOverage
			}
		}
		return nil, claimMissing
	}
	add := func(x any) {
		switch x := x.(type) {
		case string:
			values = append(values, x)
		case float64, bool, json.Number:
			values = append(values, fmt.Sprint(x))
		}
	}
	if arr, isArr := v.([]any); isArr {
		for _, x := range arr {
			add(x)
		}
	} else {
		add(v)
	}
	return values, claimPresent
}
