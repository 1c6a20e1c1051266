package graphemu

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// env is a running emulator and a client holding a token for it.
type env struct {
	t     *testing.T
	srv   *Server
	base  string
	hc    *http.Client
	token string
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	e := &env{t: t, srv: s, base: ts.URL, hc: ts.Client()}
	e.token = e.fetchToken("contoso.onmicrosoft.com", "11111111-2222-3333-4444-555555555555", "s3cret")
	return e
}

func (e *env) fetchToken(tenant, clientID, secret string) string {
	e.t.Helper()
	status, body := e.tokenRequest(tenant, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default"},
	})
	if status != http.StatusOK {
		e.t.Fatalf("token: status %d: %v", status, body)
	}
	return body["access_token"].(string)
}

func (e *env) tokenRequest(tenant string, form url.Values) (int, map[string]any) {
	e.t.Helper()
	resp, err := e.hc.PostForm(e.base+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		e.t.Fatalf("token answer is not JSON: %v", err)
	}
	return resp.StatusCode, m
}

// reply is a decoded answer.
type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// call sends a Graph request; path is absolute ("/v1.0/users") or a full URL. body is JSON-encoded
// unless it is []byte.
func (e *env) call(method, path string, body any, hdr ...string) reply {
	e.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.base + path
	}
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				e.t.Fatal(err)
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, raw)
		}
	}
	return r
}

func (e *env) mustStatus(r reply, want int) {
	e.t.Helper()
	if r.status != want {
		e.t.Fatalf("status %d, want %d: %s", r.status, want, r.raw)
	}
}

// graphErrorCode checks the Graph error shape and returns its code.
func graphErrorCode(t *testing.T, r reply) string {
	t.Helper()
	sameShape(t, "graph error", docGraphError, r.raw)
	if r.header.Get("request-id") == "" || r.header.Get("client-request-id") == "" {
		t.Errorf("error answer lacks request-id / client-request-id headers: %v", r.header)
	}
	return r.body["error"].(map[string]any)["code"].(string)
}

func gzipped(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// sameShape checks that got has every property of the documentation example doc, with the same
// JSON type (null in the example matches anything; arrays are compared by their first element).
func sameShape(t *testing.T, what, doc string, got []byte) {
	t.Helper()
	var d, g any
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("%s: bad example: %v", what, err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: answer is not JSON: %v: %s", what, err, got)
	}
	if msg := shapeDiff("$", d, g); msg != "" {
		t.Errorf("%s differs from Microsoft's example: %s\n got: %s", what, msg, got)
	}
}

func shapeDiff(path string, doc, got any) string {
	if doc == nil {
		return ""
	}
	if got == nil {
		return path + " is null"
	}
	if reflect.TypeOf(doc) != reflect.TypeOf(got) {
		return fmt.Sprintf("%s is %T, want %T", path, got, doc)
	}
	switch d := doc.(type) {
	case map[string]any:
		g := got.(map[string]any)
		for k, v := range d {
			gv, ok := g[k]
			if !ok {
				return path + "." + k + " is missing"
			}
			if msg := shapeDiff(path+"."+k, v, gv); msg != "" {
				return msg
			}
		}
	case []any:
		g := got.([]any)
		if len(d) > 0 && len(g) > 0 {
			return shapeDiff(path+"[0]", d[0], g[0])
		}
	}
	return ""
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Examples from Microsoft's documentation (learn.microsoft.com / microsoft-graph-docs-contrib),
// shortened to what the emulator must reproduce.
const (
	// Microsoft identity platform, OAuth 2.0 client credentials flow: successful response.
	docTokenResponse = `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,
		"access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsIng1dCI6Ik1uQ19WWmNBVGZNNXBP..."}`
	// Same page: error response.
	docTokenError = `{"error":"invalid_scope",
		"error_description":"AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
		"error_codes":[70011],"timestamp":"YYYY-MM-DD HH:MM:SSZ",
		"trace_id":"0000aaaa-11bb-cccc-dd22-eeeeee333333","correlation_id":"aaaa0000-bb11-2222-33cc-444444dddddd"}`
	// Microsoft Graph error responses (and the json-batching page's item bodies).
	docGraphError = `{"error":{"code":"Authorization_RequestDenied",
		"message":"Insufficient privileges to complete the operation.",
		"innerError":{"date":"2025-02-13T10:17:06","request-id":"93b6f17e-c05d-4f45-ad2a-6665c708d8a0",
		"client-request-id":"e70c5c1b-8b47-68c0-3171-3d22f5e0bd54"}}}`
	// List users, with paging (paging page: @odata.nextLink).
	docUserList = `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users",
		"value":[{"businessPhones":[],"displayName":"Conf Room Adams","givenName":null,"jobTitle":null,
		"mail":"Adams@contoso.com","mobilePhone":null,"officeLocation":null,"preferredLanguage":null,
		"surname":null,"userPrincipalName":"Adams@contoso.com","id":"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0"}]}`
	// Get authentication method states, example 2 (beta).
	docRequirements = `{"perUserMfaState":"enforced"}`
	// Get authentication method states, example 1 (beta).
	docSignInPreferences = `{"isSystemPreferredAuthenticationMethodEnabled":false,
		"userPreferredMethodForSecondaryAuthentication":"push"}`
	// List methods (v1.0); the fido2 entry.
	docFido2Method = `{"@odata.type":"#microsoft.graph.fido2AuthenticationMethod","id":"-2_GRUg2-HYz6_1YG4YRAQ2",
		"displayName":"Red key","aaGuid":"2fc0579f-8113-47ea-b116-555a8db9202a","model":"NFC key",
		"attestationCertificates":["dbe793efdf1945e2df25d93653a1e8a3268a9075"],"attestationLevel":"attested"}`
	// phoneAuthenticationMethod resource.
	docPhoneMethod = `{"@odata.type":"#microsoft.graph.phoneAuthenticationMethod","id":"3179e48a-750b-4051-897c-87b9720928f7",
		"phoneNumber":"+1 2065555555","phoneType":"mobile","smsSignInState":"ready"}`
	// revokeSignInSessions.
	docRevoke = `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean","value":true}`
	// Get authenticationMethodsPolicy (v1.0), shortened.
	docPolicy = `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#authenticationMethodsPolicy",
		"id":"authenticationMethodsPolicy","displayName":"Authentication Methods Policy","description":"…",
		"lastModifiedDateTime":"2022-01-26T10:47:26.6044384Z","policyVersion":"1.4",
		"registrationEnforcement":{"authenticationMethodsRegistrationCampaign":{"snoozeDurationInDays":1,
		"state":"default","excludeTargets":[],"includeTargets":[{"id":"all_users","targetType":"group",
		"targetedAuthenticationMethod":"microsoftAuthenticator"}]}},
		"authenticationMethodConfigurations":[{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration",
		"id":"Fido2","state":"disabled","isSelfServiceRegistrationAllowed":true,"isAttestationEnforced":true,
		"keyRestrictions":{"isEnforced":false,"enforcementType":"block","aaGuids":[]},
		"includeTargets":[{"targetType":"group","id":"all_users","isRegistrationRequired":false}]}]}`
	// JSON batching: a response item.
	docBatchResponse = `{"responses":[{"id":"1","status":200,
		"headers":{"Cache-Control":"no-cache","x-ms-resource-unit":"1","OData-Version":"4.0",
		"Content-Type":"application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"},
		"body":{"@odata.context":"https://graph.microsoft.com/beta/$metadata#directoryObjects"}}]}`
)
