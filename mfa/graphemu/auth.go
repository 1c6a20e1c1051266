package graphemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// GraphAppID is the application id of Microsoft Graph, the audience of the tokens.
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// allRoles are the application permissions the emulated endpoints check for.
var allRoles = []string{
	"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All",
	"User.RevokeSessions.All", "UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All",
	"Policy.Read.All", "Policy.Read.AuthenticationMethod", "Policy.ReadWrite.AuthenticationMethod",
	"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory",
}

// principal is who a valid token was issued to.
type principal struct {
	Tenant string `json:"tid"`
	AppID  string `json:"appid"`
	Exp    int64  `json:"exp"`
}

type tokenClaims struct {
	Aud   string   `json:"aud"`
	Iss   string   `json:"iss"`
	Iat   int64    `json:"iat"`
	Nbf   int64    `json:"nbf"`
	Exp   int64    `json:"exp"`
	AppID string   `json:"appid"`
	Tid   string   `json:"tid"`
	Roles []string `json:"roles"`
	Ver   string   `json:"ver"`
	Emu   bool     `json:"graphemu"`
}

var tokenHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256","kid":"graphemu"}`))

// IssueToken returns an access token for the tenant and application, as the token endpoint would,
// for tests that call the Graph endpoints directly.
func (s *Server) IssueToken(tenant, clientID string) string {
	now := s.now()
	c := tokenClaims{
		Aud: "https://graph.microsoft.com", Iss: "https://sts.windows.net/" + tenant + "/",
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(s.lifetime).Unix(),
		AppID: clientID, Tid: TenantGUID(tenant), Roles: allRoles, Ver: "1.0", Emu: true,
	}
	body, _ := json.Marshal(c)
	unsigned := tokenHeader + "." + base64.RawURLEncoding.EncodeToString(body)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// TenantGUID is the tenant id Graph knows a tenant by: the path segment of the token request when it
// is a GUID already, else a GUID derived from the domain name (as if looked up). Tokens carry it as
// tid and throttled answers in x-ms-throttle-scope, as Entra and Graph send the tenant's GUID.
func TenantGUID(tenant string) string {
	t := strings.ToLower(strings.TrimSpace(tenant))
	if isGUID(t) {
		return t
	}
	return derivedID("tenant", t)
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f'):
			return false
		}
	}
	return true
}

// verifyToken checks the signature and lifetime of a bearer token; the message says what is wrong.
func (s *Server) verifyToken(tok string) (principal, string) {
	if tok == "" {
		return principal{}, "Access token is empty."
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return principal{}, "IDX14100: JWT is not well formed, there are no dots (.)."
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return principal{}, "Access token validation failure. Invalid audience."
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var p principal
	if err != nil || json.Unmarshal(raw, &p) != nil {
		return principal{}, "Access token validation failure."
	}
	if s.now().Unix() >= p.Exp {
		return principal{}, "Lifetime validation failed, the token is expired."
	}
	return p, ""
}

// authenticate reads the bearer token of a Graph request.
func (s *Server) authenticate(r *http.Request) (principal, string) {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "Bearer") {
		return principal{}, "Access token is empty."
	}
	return s.verifyToken(strings.TrimSpace(tok))
}

// granted reports whether the tenant granted one of the permissions.
func (s *Server) granted(anyOf []string) bool {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	if s.roles == nil {
		return true
	}
	for _, r := range anyOf {
		if s.roles[strings.ToLower(r)] {
			return true
		}
	}
	return false
}

// tenantOf returns the tenant path segment of a token or discovery URL path.
func tenantOf(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return seg
}

// serveToken is the client-credentials token endpoint.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	tenant := tenantOf(r.URL.Path)
	if r.Method != http.MethodPost {
		s.tokenError(w, r, http.StatusMethodNotAllowed, "invalid_request", 900561,
			"AADSTS900561: The endpoint only accepts POST requests. Received a "+r.Method+" request.")
		return
	}
	body, err := readBody(r, 1<<20)
	if err != nil {
		s.tokenError(w, r, http.StatusBadRequest, "invalid_request", 900144, "AADSTS900144: The request body could not be read: "+err.Error())
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		s.tokenError(w, r, http.StatusBadRequest, "invalid_request", 900144, "AADSTS900144: The request body is not form-encoded.")
		return
	}
	// client_secret_basic: credentials in the Authorization header.
	if id, secret, ok := r.BasicAuth(); ok {
		if form.Get("client_id") == "" {
			form.Set("client_id", id)
		}
		if form.Get("client_secret") == "" {
			form.Set("client_secret", secret)
		}
	}
	clientID := form.Get("client_id")
	switch gt := form.Get("grant_type"); {
	case gt == "":
		s.tokenError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	case gt != "client_credentials":
		s.tokenError(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("AADSTS70003: The app requested an unsupported grant type '%s'. The emulator only issues client_credentials tokens.", gt))
		return
	case clientID == "":
		s.tokenError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'client_id'.")
		return
	}
	scope := form.Get("scope")
	if scope == "" {
		s.tokenError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'scope'.")
		return
	}
	// MSAL adds the OpenID scopes to every request; Entra ignores them for client credentials.
	resource := 0
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		if !strings.HasSuffix(sc, "/.default") {
			s.tokenError(w, r, http.StatusBadRequest, "invalid_scope", 1002012,
				fmt.Sprintf("AADSTS1002012: The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", sc))
			return
		}
		resource++
	}
	if resource == 0 {
		s.tokenError(w, r, http.StatusBadRequest, "invalid_scope", 1002012,
			"AADSTS1002012: The provided value for scope "+scope+" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
		return
	}
	c := s.creds
	switch {
	case c.TenantID != "" && !strings.EqualFold(tenant, c.TenantID):
		s.tokenError(w, r, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	case c.ClientID != "" && !strings.EqualFold(clientID, c.ClientID):
		s.tokenError(w, r, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", clientID, tenant))
		return
	}
	secret, assertion := form.Get("client_secret"), form.Get("client_assertion")
	switch {
	case secret == "" && assertion == "":
		s.tokenError(w, r, http.StatusUnauthorized, "invalid_client", 7000218,
			"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	case secret != "":
		if (c.ClientSecret != "" || c.CertificateThumbprint != "") &&
			subtle.ConstantTimeCompare([]byte(secret), []byte(c.ClientSecret)) != 1 {
			s.tokenError(w, r, http.StatusUnauthorized, "invalid_client", 7000215,
				fmt.Sprintf("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
			return
		}
	default:
		if msg := checkAssertion(assertion, c); msg != "" {
			s.tokenError(w, r, http.StatusUnauthorized, "invalid_client", 700027, msg)
			return
		}
	}
	tok := s.IssueToken(tenant, clientID)
	s.stats.tokensIssued.Add(1)
	secs := int64(s.lifetime / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
	})
}

// checkAssertion accepts a JWT-shaped client assertion whose x5t or x5t#S256 header matches the
// configured thumbprint (any, when none is configured and no secret is required).
func checkAssertion(assertion string, c Credentials) string {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return "AADSTS50027: JWT token is invalid or malformed."
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	var hdr struct {
		X5t    string `json:"x5t"`
		X5t256 string `json:"x5t#S256"`
	}
	if err != nil || json.Unmarshal(raw, &hdr) != nil {
		return "AADSTS50027: JWT token is invalid or malformed."
	}
	if c.CertificateThumbprint == "" {
		if c.ClientSecret != "" {
			return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application."
		}
		return ""
	}
	want := strings.ToLower(strings.ReplaceAll(c.CertificateThumbprint, ":", ""))
	for _, v := range []string{hdr.X5t, hdr.X5t256} {
		if b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "=")); err == nil && v != "" &&
			hex.EncodeToString(b) == want {
			return ""
		}
	}
	return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application."
}

// tokenError answers in the AADSTS error shape MSAL parses.
func (s *Server) tokenError(w http.ResponseWriter, r *http.Request, status int, code string, aadsts int, desc string) {
	s.stats.tokensRefused.Add(1)
	now := s.now().UTC()
	trace, corr := newGUID(), newGUID()
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("%s Trace ID: %s Correlation ID: %s Timestamp: %s", desc, trace, corr, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         s.base(r) + "/error?code=" + fmt.Sprint(aadsts),
	})
}

// serveOpenIDConfiguration answers /{tenant}/v2.0/.well-known/openid-configuration with endpoints on
// this server, as MSAL (and so azidentity) reads it when the authority host is overridden.
func (s *Server) serveOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	tenant := tenantOf(r.URL.Path)
	b := s.base(r) + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        b + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              s.base(r) + "/" + tenant + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                b + "/v2.0",
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     s.base(r) + "/oidc/userinfo",
		"authorization_endpoint":                b + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         b + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  b + "/oauth2/v2.0/logout",
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "tid"},
		"tenant_region_scope":                   "NA",
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          strings.TrimPrefix(strings.TrimPrefix(s.base(r), "https://"), "http://"),
	})
}

// serveInstanceDiscovery answers /common/discovery/instance for the authority named in the query.
func (s *Server) serveInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	tenant := "common"
	if ae, err := url.Parse(r.URL.Query().Get("authorization_endpoint")); err == nil && ae.Path != "" {
		tenant = tenantOf(ae.Path)
	}
	host := r.Host
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": s.base(r) + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": host, "preferred_cache": host, "aliases": []string{host},
		}},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
