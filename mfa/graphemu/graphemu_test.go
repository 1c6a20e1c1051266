package graphemu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func TestTokenFlowAndDiscovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Credentials: Credentials{ClientSecret: "s3cret"}})
	tenant := "72f988bf-86f1-41af-91ab-2d7cd011db47"

	r := e.call("GET", "/"+tenant+"/v2.0/.well-known/openid-configuration", nil)
	e.mustStatus(r, 200)
	if got, want := r.body["token_endpoint"], e.base+"/"+tenant+"/oauth2/v2.0/token"; got != want {
		t.Errorf("token_endpoint = %v, want %v", got, want)
	}
	if iss, _ := r.body["issuer"].(string); !strings.HasPrefix(iss, e.base+"/") {
		t.Errorf("issuer %q is not on the emulator's host (MSAL compares scheme and host)", iss)
	}
	if r.body["authorization_endpoint"] == nil {
		t.Error("authorization_endpoint missing: MSAL refuses a discovery document without it")
	}
	r = e.call("GET", "/common/discovery/instance?api-version=1.1&authorization_endpoint="+
		url.QueryEscape(e.base+"/"+tenant+"/oauth2/v2.0/authorize"), nil)
	e.mustStatus(r, 200)
	if got := r.body["tenant_discovery_endpoint"]; got != e.base+"/"+tenant+"/v2.0/.well-known/openid-configuration" {
		t.Errorf("tenant_discovery_endpoint = %v", got)
	}

	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app-1"},
		"client_secret": {"s3cret"}, "scope": {"https://graph.microsoft.com/.default"}}
	status, body := e.tokenRequest(tenant, form)
	if status != 200 {
		t.Fatalf("token status %d: %v", status, body)
	}
	raw, _ := json.Marshal(body)
	sameShape(t, "token response", docTokenResponse, raw)
	if body["token_type"] != "Bearer" || body["expires_in"] != 3599.0 || body["ext_expires_in"] != 3599.0 {
		t.Errorf("token response %v", body)
	}
	e.token = body["access_token"].(string)
	e.mustStatus(e.call("GET", "/v1.0/users", nil), 200)

	for _, tc := range []struct {
		name   string
		change func(url.Values)
		status int
		code   string
		aadsts string
	}{
		{"wrong secret", func(f url.Values) { f.Set("client_secret", "nope") }, 401, "invalid_client", "AADSTS7000215"},
		{"no credential", func(f url.Values) { f.Del("client_secret") }, 401, "invalid_client", "AADSTS7000218"},
		{"scope without /.default", func(f url.Values) { f.Set("scope", "https://graph.microsoft.com/User.Read.All") }, 400, "invalid_scope", "AADSTS1002012"},
		{"other grant", func(f url.Values) { f.Set("grant_type", "password") }, 400, "unsupported_grant_type", "AADSTS70003"},
		{"no client id", func(f url.Values) { f.Del("client_id") }, 400, "invalid_request", "AADSTS900144"},
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		tc.change(f)
		status, body := e.tokenRequest(tenant, f)
		raw, _ := json.Marshal(body)
		sameShape(t, tc.name, docTokenError, raw)
		desc, _ := body["error_description"].(string)
		if status != tc.status || body["error"] != tc.code || !strings.HasPrefix(desc, tc.aadsts+":") {
			t.Errorf("%s: got %d %v %q, want %d %s %s", tc.name, status, body["error"], desc, tc.status, tc.code, tc.aadsts)
		}
	}
	if st := e.srv.Stats(); st.TokensIssued != 2 || st.TokensRefused != 5 {
		t.Errorf("stats: issued %d refused %d, want 2 and 5", st.TokensIssued, st.TokensRefused)
	}
}

func TestTokenRequiredTenantAndAssertion(t *testing.T) {
	t.Parallel()
	// x5t of a made-up certificate: base64url of its SHA-1 thumbprint.
	thumb := strings.Repeat("ab", 20)
	thumbBytes := make([]byte, 20)
	for i := range thumbBytes {
		thumbBytes[i] = 0xab
	}
	e := newEnv(t, Options{Credentials: Credentials{TenantID: "contoso.onmicrosoft.com", CertificateThumbprint: thumb, ClientSecret: "s3cret"}})
	status, body := e.tokenRequest("fabrikam.onmicrosoft.com", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"a"}, "client_secret": {"s3cret"}, "scope": {"https://graph.microsoft.com/.default"}})
	if status != 400 || !strings.HasPrefix(body["error_description"].(string), "AADSTS90002") {
		t.Errorf("other tenant: %d %v", status, body)
	}
	jwt := func(x5t string) string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","x5t":"` + x5t + `"}`))
		return h + ".e30.c2ln"
	}
	for _, tc := range []struct {
		x5t    string
		status int
	}{{base64.RawURLEncoding.EncodeToString(thumbBytes), 200}, {"AAAA", 401}} {
		status, body := e.tokenRequest("contoso.onmicrosoft.com", url.Values{"grant_type": {"client_credentials"},
			"client_id": {"a"}, "scope": {"https://graph.microsoft.com/.default"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {jwt(tc.x5t)}})
		if status != tc.status {
			t.Errorf("assertion x5t %s: %d %v, want %d", tc.x5t, status, body, tc.status)
		}
	}
}

func TestGraphCallsNeedAValidToken(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, Options{Users: 3, Now: clock.Now})
	good := e.token
	for _, tc := range []struct{ name, token, msg string }{
		{"no token", "", "Access token is empty."},
		{"not a JWT", "abc", "IDX14100"},
		{"forged", good[:len(good)-4] + "AAAA", "Access token validation failure"},
	} {
		e.token = tc.token
		r := e.call("GET", "/v1.0/users", nil, "client-request-id", "c-42")
		e.mustStatus(r, 401)
		if code := graphErrorCode(t, r); code != "InvalidAuthenticationToken" {
			t.Errorf("%s: code %q", tc.name, code)
		}
		inner := r.body["error"].(map[string]any)["innerError"].(map[string]any)
		if inner["client-request-id"] != "c-42" || r.header.Get("client-request-id") != "c-42" {
			t.Errorf("%s: client-request-id not echoed: %v", tc.name, inner)
		}
		if msg := r.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: message %q, want %q", tc.name, msg, tc.msg)
		}
	}
	e.token = good
	e.mustStatus(e.call("GET", "/v1.0/users", nil), 200)
	clock.Advance(3600 * time.Second)
	r := e.call("GET", "/v1.0/users", nil)
	e.mustStatus(r, 401)
	if !strings.Contains(r.body["error"].(map[string]any)["message"].(string), "expired") {
		t.Errorf("expired token: %s", r.raw)
	}
	if got := e.srv.Stats().Unauthorized; got != 4 {
		t.Errorf("Unauthorized = %d, want 4", got)
	}
}

func TestListUsersPagingFollowsNextLink(t *testing.T) {
	t.Parallel()
	const n = 2500
	e := newEnv(t, Options{Users: n})
	next := e.base + "/v1.0/users?$select=id,displayName,userPrincipalName,accountEnabled&$top=999"
	seen := map[string]bool{}
	pages := 0
	for next != "" {
		r := e.call("GET", next, nil)
		e.mustStatus(r, 200)
		pages++
		if got, want := r.body["@odata.context"], e.base+"/v1.0/$metadata#users(id,displayName,userPrincipalName,accountEnabled)"; got != want {
			t.Errorf("@odata.context = %v, want %v", got, want)
		}
		for _, v := range r.body["value"].([]any) {
			u := v.(map[string]any)
			id := u["id"].(string)
			if seen[id] {
				t.Fatalf("user %s returned twice", id)
			}
			seen[id] = true
			if len(u) != 4 {
				t.Fatalf("user has %d properties, want the 3 selected and id: %v", len(u), u)
			}
		}
		next, _ = r.body["@odata.nextLink"].(string)
		if next != "" && (!strings.HasPrefix(next, e.base+"/v1.0/users?") || !strings.Contains(next, "$skiptoken=")) {
			t.Fatalf("nextLink %q is not an absolute users URL with a $skiptoken", next)
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != n || pages != 3 {
		t.Errorf("got %d users in %d pages, want %d in 3", len(seen), pages, n)
	}
	if st := e.srv.Stats(); st.ReadUnits != 3 { // 2 per list call, −1 for $select
		t.Errorf("ReadUnits = %d, want 3", st.ReadUnits)
	}
}

func TestListUsersShapeSelectFilterCount(t *testing.T) {
	t.Parallel()
	const n = 600
	e := newEnv(t, Options{Users: n})
	disabled := 0
	for u := range mfa.DemoUsers(n) {
		if !u.AccountEnabled {
			disabled++
		}
	}

	r := e.call("GET", "/v1.0/users", nil)
	e.mustStatus(r, 200)
	sameShape(t, "list users", docUserList, r.raw)
	first := r.body["value"].([]any)[0].(map[string]any)
	if _, ok := first["accountEnabled"]; ok {
		t.Error("accountEnabled returned without $select: Graph's default set does not include it")
	}
	if got := len(r.body["value"].([]any)); got != 100 {
		t.Errorf("default page size %d, want 100", got)
	}
	if got := r.header.Get("x-ms-resource-unit"); got != "2" {
		t.Errorf("x-ms-resource-unit = %q, want 2", got)
	}

	r = e.call("GET", "/v1.0/users?$select=displayName", nil)
	u := r.body["value"].([]any)[0].(map[string]any)
	if len(u) != 2 || u["id"] == nil || u["displayName"] == nil {
		t.Errorf("$select=displayName gave %v", u)
	}

	r = e.call("GET", "/v1.0/users?$select=nosuch", nil)
	e.mustStatus(r, 400)
	graphErrorCode(t, r)

	count := func(q string, want bool) int {
		total := 0
		next := e.base + "/v1.0/users?" + q
		for next != "" {
			r := e.call("GET", next, nil)
			e.mustStatus(r, 200)
			for _, v := range r.body["value"].([]any) {
				if v.(map[string]any)["accountEnabled"] != want {
					t.Fatalf("filter %s returned %v", q, v)
				}
				total++
			}
			next, _ = r.body["@odata.nextLink"].(string)
		}
		return total
	}
	if got := count("$filter=accountEnabled%20eq%20false&$select=id,accountEnabled&$top=7", false); got != disabled {
		t.Errorf("accountEnabled eq false: %d users, want %d", got, disabled)
	}
	if got := count("$filter=accountEnabled%20eq%20true&$select=id,accountEnabled&$top=999", true); got != n-disabled {
		t.Errorf("accountEnabled eq true: %d users, want %d", got, n-disabled)
	}

	r = e.call("GET", "/v1.0/users?$filter="+url.QueryEscape("startswith(displayName,'A')"), nil)
	e.mustStatus(r, 400)
	if code := graphErrorCode(t, r); code != "Request_UnsupportedQuery" {
		t.Errorf("unsupported filter code %q", code)
	}
	for _, top := range []string{"0", "1000", "x"} {
		e.mustStatus(e.call("GET", "/v1.0/users?$top="+top, nil), 400)
	}

	e.mustStatus(e.call("GET", "/v1.0/users?$count=true", nil), 400)
	r = e.call("GET", "/v1.0/users?$count=true&$filter=accountEnabled%20eq%20false&$top=1", nil, "ConsistencyLevel", "eventual")
	e.mustStatus(r, 200)
	if got := r.body["@odata.count"]; got != float64(disabled) {
		t.Errorf("@odata.count = %v, want %d", got, disabled)
	}
}

func TestGetUserByIDOrUPNAndDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 5})
	ids := e.srv.UserIDs()
	u, _ := e.srv.User(ids[2])
	for _, key := range []string{u.ID, strings.ToUpper(u.UPN), url.PathEscape(u.UPN)} {
		r := e.call("GET", "/v1.0/users/"+key+"?$select=displayName,accountEnabled", nil)
		e.mustStatus(r, 200)
		if r.body["id"] != u.ID || r.body["displayName"] != u.DisplayName || r.body["accountEnabled"] != u.AccountEnabled {
			t.Errorf("GET users/%s = %v", key, r.body)
		}
		if ctx := r.body["@odata.context"].(string); !strings.HasSuffix(ctx, "#users(displayName,accountEnabled)/$entity") {
			t.Errorf("@odata.context %q", ctx)
		}
	}
	if err := e.srv.DeleteUser(u.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v1.0/users/" + u.ID, "/beta/users/" + u.ID + "/authentication/requirements",
		"/v1.0/users/" + u.ID + "/authentication/methods"} {
		r := e.call("GET", p, nil)
		e.mustStatus(r, 404)
		if code := graphErrorCode(t, r); code != "Request_ResourceNotFound" {
			t.Errorf("%s: code %q", p, code)
		}
	}
	if e.srv.UserCount() != 4 {
		t.Errorf("UserCount = %d", e.srv.UserCount())
	}
	newID, err := e.srv.AddUser(mfa.User{UPN: "new.hire@contoso.com", DisplayName: "New Hire", AccountEnabled: true,
		State: mfa.StateEnabled, Methods: []mfa.Method{{Type: mfa.MethodAuthenticatorPush, IsDefault: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.AddUser(mfa.User{UPN: "NEW.HIRE@contoso.com"}); err == nil {
		t.Error("duplicate user name accepted")
	}
	r0 := e.call("GET", "/v1.0/users/new.hire@contoso.com?$select=displayName", nil)
	e.mustStatus(r0, 200)
	if r0.body["id"] != newID {
		t.Errorf("added user: %v, id %s", r0.body, newID)
	}
	if e.srv.UserCount() != 5 {
		t.Errorf("UserCount = %d after AddUser", e.srv.UserCount())
	}
	_ = e.srv.DeleteUser(newID)
	// Listing still returns every remaining user exactly once.
	r := e.call("GET", "/v1.0/users?$top=2", nil)
	total := len(r.body["value"].([]any))
	for next, _ := r.body["@odata.nextLink"].(string); next != ""; next, _ = r.body["@odata.nextLink"].(string) {
		r = e.call("GET", next, nil)
		total += len(r.body["value"].([]any))
	}
	if total != 4 {
		t.Errorf("listed %d users after a delete, want 4", total)
	}
}

// usersWith finds demo users: one with MFA methods, one without.
func usersWith(t *testing.T, s *Server) (withMethods, without User) {
	t.Helper()
	for _, id := range s.UserIDs() {
		u, _ := s.User(id)
		if len(u.Methods) > 0 && withMethods.ID == "" {
			withMethods = u
		}
		if len(u.Methods) == 0 && without.ID == "" {
			without = u
		}
	}
	if withMethods.ID == "" || without.ID == "" {
		t.Fatal("demo tenant lacks users with and without methods")
	}
	return withMethods, without
}

func TestRequirementsGetPatchAndEnforcedRule(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 40})
	with, without := usersWith(t, e.srv)

	r := e.call("GET", "/beta/users/"+with.ID+"/authentication/requirements", nil)
	e.mustStatus(r, 200)
	sameShape(t, "requirements", docRequirements, r.raw)
	if r.body["perUserMfaState"] != string(with.State) {
		t.Errorf("perUserMfaState %v, want %s", r.body["perUserMfaState"], with.State)
	}

	patch := func(id, state string) reply {
		return e.call("PATCH", "/beta/users/"+id+"/authentication/requirements", map[string]string{"perUserMfaState": state})
	}
	state := func(id string) mfa.State { st, _ := e.srv.UserState(id); return st }

	for _, id := range []string{with.ID, without.ID} {
		r := patch(id, "disabled")
		e.mustStatus(r, 204)
		if len(r.raw) != 0 || state(id) != mfa.StateDisabled {
			t.Errorf("PATCH disabled: body %q state %s", r.raw, state(id))
		}
	}
	e.mustStatus(patch(with.ID, "enabled"), 204)
	if got := state(with.ID); got != mfa.StateEnforced {
		t.Errorf("enabled on a user with methods gave %s, want enforced", got)
	}
	e.mustStatus(patch(without.ID, "enabled"), 204)
	if got := state(without.ID); got != mfa.StateEnabled {
		t.Errorf("enabled on a user without methods gave %s, want enabled", got)
	}
	// Registering a method (out of band) turns an enabled user enforced, as a real registration does.
	if err := e.srv.SetUserMethods(without.ID, []mfa.Method{{Type: mfa.MethodMobilePhone, IsDefault: true}}); err != nil {
		t.Fatal(err)
	}
	if got := state(without.ID); got != mfa.StateEnforced {
		t.Errorf("after registration %s, want enforced", got)
	}
	e.mustStatus(e.call("PATCH", "/beta/users/"+with.UPN+"/authentication/requirements", map[string]string{"perUserMfaState": "disabled"}), 204)

	for _, body := range []any{map[string]string{"perUserMfaState": "sometimes"}, map[string]int{"perUserMfaState": 1},
		map[string]string{"nonsense": "x"}, []byte("{not json"), []byte("")} {
		r := e.call("PATCH", "/beta/users/"+with.ID+"/authentication/requirements", body)
		e.mustStatus(r, 400)
		graphErrorCode(t, r)
	}
	r = e.call("GET", "/v1.0/users/"+with.ID+"/authentication/requirements", nil)
	e.mustStatus(r, 400)
	if msg := r.body["error"].(map[string]any)["message"]; msg != "Resource not found for the segment 'requirements'." {
		t.Errorf("v1.0 requirements: %v", msg)
	}
	if st := e.srv.Stats(); st.StateChanges < 4 || st.WritesApplied != 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestMethodsListAndTypedDeletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 1})
	id := e.srv.UserIDs()[0]
	err := e.srv.SetUserMethods(id, []mfa.Method{
		{Type: mfa.MethodAuthenticatorPush, IsDefault: true}, {Type: mfa.MethodMobilePhone},
		{Type: mfa.MethodAlternateMobilePhone}, {Type: mfa.MethodFIDO2}, {Type: mfa.MethodSoftwareOTP},
		{Type: mfa.MethodEmail},
	})
	if err != nil {
		t.Fatal(err)
	}
	list := func() map[string]string { // odata type and phone type → id
		r := e.call("GET", "/v1.0/users/"+id+"/authentication/methods", nil)
		e.mustStatus(r, 200)
		out := map[string]string{}
		for _, v := range r.body["value"].([]any) {
			m := v.(map[string]any)
			k := m["@odata.type"].(string)
			if pt, ok := m["phoneType"].(string); ok {
				k += "/" + pt
			}
			out[k] = m["id"].(string)
			raw, _ := json.Marshal(m)
			switch k {
			case odataFido2:
				sameShape(t, "fido2 method", docFido2Method, raw)
			case odataPhoneMethod + "/mobile":
				sameShape(t, "phone method", docPhoneMethod, raw)
			}
		}
		return out
	}
	got := list()
	if len(got) != 7 || got[odataPassword] != PasswordMethodID || got[odataPhoneMethod+"/mobile"] != MobilePhoneMethodID ||
		got[odataEmail] != EmailMethodID || got[odataPhoneMethod+"/alternateMobile"] != AlternatePhoneMethodID {
		t.Fatalf("methods: %v", got)
	}
	del := func(coll, mid string) reply {
		return e.call("DELETE", "/v1.0/users/"+id+"/authentication/"+coll+"/"+mid, nil)
	}
	// Refusals, as Graph documents them.
	for _, tc := range []struct{ coll, mid string }{
		{"passwordMethods", PasswordMethodID},
		{"phoneMethods", PasswordMethodID},
		{"phoneMethods", MobilePhoneMethodID},                           // alternateMobile still there
		{"microsoftAuthenticatorMethods", got[odataAuthenticator]},      // the default, others remain
		{"microsoftAuthenticatorMethods", got[odataSoftwareOath] + "x"}, // unknown → 404 below
	} {
		r := del(tc.coll, tc.mid)
		want := 400
		if strings.HasSuffix(tc.mid, "x") {
			want = 404
		}
		e.mustStatus(r, want)
		graphErrorCode(t, r)
	}
	e.mustStatus(del("softwareOathMethods", got[odataAuthenticator]), 404) // wrong collection
	e.mustStatus(e.call("DELETE", "/v1.0/users/"+id+"/authentication/methods/"+got[odataFido2], nil), 405)

	for _, tc := range []struct{ coll, key string }{
		{"phoneMethods", odataPhoneMethod + "/alternateMobile"}, {"phoneMethods", odataPhoneMethod + "/mobile"},
		{"fido2Methods", odataFido2}, {"softwareOathMethods", odataSoftwareOath}, {"emailMethods", odataEmail},
		{"microsoftAuthenticatorMethods", odataAuthenticator}, // the default, now the last one
	} {
		r := del(tc.coll, got[tc.key])
		e.mustStatus(r, 204)
	}
	if rest := list(); len(rest) != 1 || rest[odataPassword] == "" {
		t.Errorf("after deleting every method: %v", rest)
	}
	if u, _ := e.srv.User(id); len(u.Methods) != 0 {
		t.Errorf("User still has %v", u.Methods)
	}
	if got := e.srv.Stats().MethodsDeleted; got != 6 {
		t.Errorf("MethodsDeleted = %d", got)
	}
}

func TestSignInPreferencesChangeDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 1})
	id := e.srv.UserIDs()[0]
	_ = e.srv.SetUserMethods(id, []mfa.Method{{Type: mfa.MethodMobilePhone, IsDefault: true}, {Type: mfa.MethodOfficePhone}})
	r := e.call("GET", "/beta/users/"+id+"/authentication/signInPreferences", nil)
	e.mustStatus(r, 200)
	sameShape(t, "signInPreferences", docSignInPreferences, r.raw)
	if r.body["userPreferredMethodForSecondaryAuthentication"] != "sms" {
		t.Errorf("preferred %v", r.body["userPreferredMethodForSecondaryAuthentication"])
	}
	e.mustStatus(e.call("DELETE", "/v1.0/users/"+id+"/authentication/phoneMethods/"+MobilePhoneMethodID, nil), 400)
	e.mustStatus(e.call("PATCH", "/beta/users/"+id+"/authentication/signInPreferences",
		map[string]string{"userPreferredMethodForSecondaryAuthentication": "push"}), 400) // no authenticator
	e.mustStatus(e.call("PATCH", "/beta/users/"+id+"/authentication/signInPreferences",
		map[string]string{"userPreferredMethodForSecondaryAuthentication": "voiceOffice"}), 204)
	e.mustStatus(e.call("DELETE", "/v1.0/users/"+id+"/authentication/phoneMethods/"+MobilePhoneMethodID, nil), 204)
}

func TestRevokeSignInSessions(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, Options{Users: 2, Now: clock.Now})
	id := e.srv.UserIDs()[1]
	r := e.call("POST", "/v1.0/users/"+id+"/revokeSignInSessions", nil)
	e.mustStatus(r, 200)
	sameShape(t, "revokeSignInSessions", docRevoke, r.raw)
	if u, _ := e.srv.User(id); !u.SessionsRevokedAt.Equal(clock.Now()) {
		t.Errorf("SessionsRevokedAt = %v", u.SessionsRevokedAt)
	}
	e.mustStatus(e.call("GET", "/v1.0/users/"+id+"/revokeSignInSessions", nil), 405)
}

func TestAuthenticationMethodsPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	r := e.call("GET", "/v1.0/policies/authenticationMethodsPolicy", nil)
	e.mustStatus(r, 200)
	sameShape(t, "policy", docPolicy, r.raw)
	ids := map[string]string{}
	for _, v := range r.body["authenticationMethodConfigurations"].([]any) {
		m := v.(map[string]any)
		ids[m["id"].(string)] = m["state"].(string)
	}
	for _, want := range []string{"Sms", "Voice", "MicrosoftAuthenticator", "SoftwareOath", "Fido2", "Email"} {
		if ids[want] == "" {
			t.Errorf("configuration %s missing: %v", want, ids)
		}
	}

	cfg := "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/"
	e.mustStatus(e.call("PATCH", cfg+"Sms", map[string]string{"state": "disabled"}), 400) // no @odata.type
	e.mustStatus(e.call("PATCH", cfg+"Sms", map[string]string{"@odata.type": "#microsoft.graph.voiceAuthenticationMethodConfiguration", "state": "disabled"}), 400)
	e.mustStatus(e.call("PATCH", cfg+"Sms", map[string]string{"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "state": "off"}), 400)
	e.mustStatus(e.call("PATCH", cfg+"sms", map[string]string{"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "state": "disabled"}), 204)
	r = e.call("GET", cfg+"Sms", nil)
	e.mustStatus(r, 200)
	if r.body["state"] != "disabled" || r.body["@odata.type"] != "#microsoft.graph.smsAuthenticationMethodConfiguration" {
		t.Errorf("Sms after PATCH: %v", r.body)
	}
	e.mustStatus(e.call("GET", cfg+"NoSuch", nil), 404)

	r = e.call("PATCH", "/v1.0/policies/authenticationMethodsPolicy", map[string]any{
		"authenticationMethodConfigurations": []map[string]string{{"id": "Voice", "state": "disabled"}, {"id": "Sms", "state": "enabled"}},
	})
	e.mustStatus(r, 200)
	sameShape(t, "policy after PATCH", docPolicy, r.raw)
	if st, _ := e.srv.MethodConfigurationState("Voice"); st != "disabled" {
		t.Errorf("Voice %s", st)
	}
	if st, _ := e.srv.MethodConfigurationState("Sms"); st != "enabled" {
		t.Errorf("Sms %s", st)
	}
	e.mustStatus(e.call("PATCH", "/v1.0/policies/authenticationMethodsPolicy", map[string]any{
		"authenticationMethodConfigurations": []map[string]string{{"id": "Voice", "state": "enabled"}, {"id": "Nope", "state": "enabled"}},
	}), 400)
	if st, _ := e.srv.MethodConfigurationState("Voice"); st != "disabled" {
		t.Error("a refused policy PATCH changed a configuration")
	}
	r = e.call("GET", "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations", nil)
	e.mustStatus(r, 200)
	if len(r.body["value"].([]any)) != len(ids) {
		t.Errorf("configurations list: %s", r.raw)
	}
}

func TestGzipRequestBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 3})
	id := e.srv.UserIDs()[0]
	r := e.call("PATCH", "/beta/users/"+id+"/authentication/requirements",
		gzipped(t, map[string]string{"perUserMfaState": "enforced"}), "Content-Encoding", "gzip")
	e.mustStatus(r, 204)
	if st, _ := e.srv.UserState(id); st != mfa.StateEnforced {
		t.Errorf("state %s after a gzipped PATCH", st)
	}
	r = e.call("PATCH", "/beta/users/"+id+"/authentication/requirements", []byte("{}"), "Content-Encoding", "br")
	e.mustStatus(r, 415)
}

func batchOf(steps ...map[string]any) map[string]any { return map[string]any{"requests": steps} }

func step(id, method, u string, extra ...any) map[string]any {
	m := map[string]any{"id": id, "method": method, "url": u}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

func responsesByID(t *testing.T, r reply) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, v := range r.body["responses"].([]any) {
		m := v.(map[string]any)
		out[m["id"].(string)] = m
	}
	return out
}

func TestBatchLimitsDependsOnAndItems(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 30})
	ids := e.srv.UserIDs()

	var twenty []map[string]any
	for i := range 20 {
		twenty = append(twenty, step(strconv.Itoa(i+1), "GET", "/users/"+ids[i]+"/authentication/requirements"))
	}
	r := e.call("POST", "/beta/$batch", batchOf(twenty...))
	e.mustStatus(r, 200)
	sameShape(t, "batch response", docBatchResponse, r.raw)
	got := responsesByID(t, r)
	if len(got) != 20 {
		t.Fatalf("%d responses", len(got))
	}
	for id, m := range got {
		body := m["body"].(map[string]any)
		if m["status"] != 200.0 || body["perUserMfaState"] == nil {
			t.Errorf("step %s: %v", id, m)
		}
	}

	r = e.call("POST", "/v1.0/$batch", gzipped(t, batchOf(append(twenty, step("21", "GET", "/users"))...)), "Content-Encoding", "gzip")
	e.mustStatus(r, 400)
	graphErrorCode(t, r)

	for name, b := range map[string]map[string]any{
		"duplicate id":       batchOf(step("a", "GET", "/users"), step("A", "GET", "/users")),
		"unknown dependency": batchOf(step("a", "GET", "/users", "dependsOn", []string{"zz"})),
		"cycle":              batchOf(step("a", "GET", "/users", "dependsOn", []string{"b"}), step("b", "GET", "/users", "dependsOn", []string{"a"})),
		"depends on a later": batchOf(step("a", "GET", "/users", "dependsOn", []string{"b"}), step("b", "GET", "/users")),
		"no requests":        {"requests": []any{}},
	} {
		r := e.call("POST", "/v1.0/$batch", b)
		if r.status != 400 {
			t.Errorf("%s: status %d", name, r.status)
		}
	}

	// A fully parallel batch: each request on its own.
	with, _ := usersWith(t, e.srv)
	_ = e.srv.SetUserState(with.ID, mfa.StateDisabled)
	hdr := map[string]string{"Content-Type": "application/json"}
	r = e.call("POST", "/beta/$batch", batchOf(
		step("bad", "PATCH", "/users/"+with.ID+"/authentication/requirements", "headers", hdr,
			"body", map[string]string{"perUserMfaState": "bogus"}),
		step("nobody-type", "PATCH", "/users/"+with.ID+"/authentication/requirements", "body", map[string]string{"perUserMfaState": "enabled"}),
		step("absolute", "GET", e.base+"/beta/users/"+with.ID),
		step("revoke", "POST", "/users/"+with.ID+"/revokeSignInSessions"),
		step("list", "GET", "users?$filter=accountEnabled eq true&$select=id,accountEnabled&$top=3"),
	))
	e.mustStatus(r, 200)
	got = responsesByID(t, r)
	want := map[string]float64{"bad": 400, "nobody-type": 400, "absolute": 400, "revoke": 200, "list": 200}
	for id, status := range want {
		if got[id]["status"] != status {
			t.Errorf("step %s: status %v, want %v: %v", id, got[id]["status"], status, got[id])
		}
	}
	if vals := got["list"]["body"].(map[string]any)["value"].([]any); len(vals) != 3 {
		t.Errorf("list step: %v", got["list"])
	}

	// A fully sequential batch: PATCH then GET of the same user; after a failed request the rest
	// fail with 424.
	r = e.call("POST", "/beta/$batch", batchOf(
		step("patch", "PATCH", "/users/"+with.ID+"/authentication/requirements", "headers", hdr,
			"body", map[string]string{"perUserMfaState": "enabled"}),
		step("get", "GET", "users/"+with.ID+"/authentication/requirements", "dependsOn", []string{"patch"}),
		step("bad", "PATCH", "/users/"+with.ID+"/authentication/requirements", "headers", hdr,
			"body", map[string]string{"perUserMfaState": "bogus"}, "dependsOn", []string{"GET"}),
		step("after-bad", "GET", "/users/"+with.ID, "dependsOn", []string{"bad"}),
		step("after-after", "GET", "/users/"+with.ID, "dependsOn", []string{"after-bad"}),
	))
	e.mustStatus(r, 200)
	got = responsesByID(t, r)
	want = map[string]float64{"patch": 204, "get": 200, "bad": 400, "after-bad": 424, "after-after": 424}
	for id, status := range want {
		if got[id]["status"] != status {
			t.Errorf("step %s: status %v, want %v: %v", id, got[id]["status"], status, got[id])
		}
	}
	if body := got["get"]["body"].(map[string]any); body["perUserMfaState"] != "enforced" {
		t.Errorf("GET after PATCH enabled: %v (want enforced: the user has methods)", body)
	}
	if _, ok := got["patch"]["body"]; ok {
		t.Errorf("204 step has a body: %v", got["patch"])
	}
	raw, _ := json.Marshal(got["after-bad"]["body"])
	sameShape(t, "424 step body", docGraphError, raw)
	if st := e.srv.Stats(); st.BatchRequests != 3 || st.BatchSteps != 30 {
		t.Errorf("batch stats %+v", st)
	}
}

func TestBatchStepOverQuotaGets429WithRetryAfter(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, Options{Users: 20, Now: clock.Now, Quotas: Quotas{ReadUnitsPer10s: 5}})
	var steps []map[string]any
	for i, id := range e.srv.UserIDs() {
		steps = append(steps, step(fmt.Sprint(i), "GET", "/users/"+id+"/authentication/methods"))
	}
	r := e.call("POST", "/v1.0/$batch", batchOf(steps...))
	e.mustStatus(r, 200)
	ok, throttled := 0, 0
	for _, m := range responsesByID(t, r) {
		h := m["headers"].(map[string]any)
		switch m["status"] {
		case 200.0:
			ok++
		case 429.0:
			throttled++
			if h["Retry-After"] != "2" || h["x-ms-retry-after-ms"] != nil { // 1 unit per 2 s
				t.Errorf("429 step headers %v", h)
			}
			if !strings.HasPrefix(h["x-ms-throttle-scope"].(string), "Tenant_Application/Read/") {
				t.Errorf("x-ms-throttle-scope %v", h["x-ms-throttle-scope"])
			}
			raw, _ := json.Marshal(m["body"])
			sameShape(t, "429 step body", docGraphError, raw)
			if code := m["body"].(map[string]any)["error"].(map[string]any)["code"]; code != "TooManyRequests" {
				t.Errorf("code %v", code)
			}
		default:
			t.Errorf("step status %v", m["status"])
		}
	}
	if ok != 5 || throttled != 15 {
		t.Errorf("%d ok and %d throttled, want 5 and 15", ok, throttled)
	}
	clock.Advance(2 * time.Second)
	r = e.call("GET", "/v1.0/users/"+e.srv.UserIDs()[0]+"/authentication/methods", nil)
	e.mustStatus(r, 200)
	if st := e.srv.Stats(); st.Throttled != 15 || st.ReadUnits != 6 {
		t.Errorf("stats %+v", st)
	}
}

func TestQuotaRecoversAfterScaledWindow(t *testing.T) {
	t.Parallel()
	// 10 units per 10 s scaled by 0.01: 10 units per 100 ms.
	e := newEnv(t, Options{Users: 1, Quotas: Quotas{ReadUnitsPer10s: 10, TimeScale: 0.01}})
	id := e.srv.UserIDs()[0]
	// Twenty steps of one unit each arrive at once: the bucket covers ten, the rest are throttled.
	var steps []map[string]any
	for i := range 20 {
		steps = append(steps, step(fmt.Sprint(i), "GET", "/users/"+id))
	}
	r := e.call("POST", "/v1.0/$batch", batchOf(steps...))
	e.mustStatus(r, 200)
	throttled, warned := 0, false
	for _, m := range responsesByID(t, r) {
		h := m["headers"].(map[string]any)
		if m["status"] == 429.0 {
			throttled++
		} else if h["x-ms-throttle-limit-percentage"] != nil {
			warned = true
		}
	}
	if throttled < 5 || !warned {
		t.Errorf("%d steps throttled, x-ms-throttle-limit-percentage seen: %v", throttled, warned)
	}
	start := time.Now()
	for r = e.call("GET", "/v1.0/users/"+id, nil); r.status == 429; {
		if code := graphErrorCode(t, r); code != "TooManyRequests" {
			t.Fatalf("code %q", code)
		}
		ra, err := strconv.Atoi(r.header.Get("Retry-After"))
		if err != nil || ra != 1 || r.header.Get("x-ms-retry-after-ms") != "" {
			t.Fatalf("Retry-After %q, x-ms-retry-after-ms %q", r.header.Get("Retry-After"), r.header.Get("x-ms-retry-after-ms"))
		}
		time.Sleep(20 * time.Millisecond) // the scaled window: Retry-After is in whole seconds
		if time.Since(start) > 2*time.Second {
			t.Fatal("still throttled after 2 s")
		}
		r = e.call("GET", "/v1.0/users/"+id, nil)
	}
	e.mustStatus(r, 200)
	if e.srv.Stats().Throttled < 1 {
		t.Error("no 429 counted")
	}
}

func TestWriteQuota(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, Options{Users: 2, Now: clock.Now, Quotas: Quotas{WritesPer150s: 3}})
	id := e.srv.UserIDs()[0]
	patch := func() reply {
		return e.call("PATCH", "/beta/users/"+id+"/authentication/requirements", map[string]string{"perUserMfaState": "enforced"})
	}
	for range 3 {
		e.mustStatus(patch(), 204)
	}
	r := patch()
	e.mustStatus(r, 429)
	if r.header.Get("Retry-After") != "50" || r.header.Get("x-ms-throttle-information") != "WriteLimitExceeded" ||
		!strings.HasPrefix(r.header.Get("x-ms-throttle-scope"), "Tenant_Application/Write/") {
		t.Errorf("write 429 headers %v", r.header)
	}
	e.mustStatus(e.call("GET", "/v1.0/users/"+id, nil), 200) // reads are not blocked by the write quota
	clock.Advance(50 * time.Second)
	e.mustStatus(patch(), 204)
	if st := e.srv.Stats(); st.Writes != 4 || st.Throttled != 1 {
		t.Errorf("stats %+v", st)
	}
	// Quotas are per application+tenant: another app is not throttled.
	e.token = e.fetchToken("contoso.onmicrosoft.com", "other-app", "x")
	e.mustStatus(patch(), 204)
}

func TestQuotasDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 1, Quotas: Quotas{Disabled: true, ReadUnitsPer10s: 1}})
	for range 5 {
		e.mustStatus(e.call("GET", "/v1.0/users", nil), 200)
	}
}

func TestLatencyInjection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 1})
	e.srv.SetLatency(120 * time.Millisecond)
	start := time.Now()
	e.mustStatus(e.call("GET", "/v1.0/users", nil), 200)
	if d := time.Since(start); d < 120*time.Millisecond {
		t.Errorf("answered in %v despite 120 ms latency", d)
	}
	// A client that gives up meanwhile gets no answer and the call is not executed.
	e.srv.SetLatency(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.base+"/v1.0/users/"+e.srv.UserIDs()[0]+"/revokeSignInSessions", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	if _, err := e.hc.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want deadline exceeded", err)
	}
	time.Sleep(20 * time.Millisecond)
	if got := e.srv.Stats().SessionsRevoked; got != 0 {
		t.Errorf("a cancelled call was executed")
	}
}

func TestInjectedFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 3, Faults: Faults{Rate429: 1}})
	r := e.call("GET", "/v1.0/users", nil)
	e.mustStatus(r, 429)
	if r.header.Get("Retry-After") != "1" || graphErrorCode(t, r) != "TooManyRequests" {
		t.Errorf("injected 429: %v %s", r.header, r.raw)
	}
	e.srv.SetFaults(Faults{Rate5xx: 1, Codes5xx: []int{503}, RetryAfter: 3 * time.Second})
	r = e.call("GET", "/v1.0/users", nil)
	e.mustStatus(r, 503)
	if r.header.Get("Retry-After") != "3" {
		t.Errorf("503 Retry-After %q", r.header.Get("Retry-After"))
	}
	// Faults inside a batch hit steps one by one; Match limits them to some calls.
	e.srv.SetFaults(Faults{Rate429: 1, Match: func(method, path string) bool { return method == "PATCH" }})
	id := e.srv.UserIDs()[0]
	r = e.call("POST", "/beta/$batch", batchOf(step("1", "GET", "/users/"+id),
		step("2", "PATCH", "/users/"+id+"/authentication/requirements", "headers", map[string]string{"Content-Type": "application/json"},
			"body", map[string]string{"perUserMfaState": "enabled"})))
	e.mustStatus(r, 200)
	got := responsesByID(t, r)
	if got["1"]["status"] != 200.0 || got["2"]["status"] != 429.0 || got["2"]["headers"].(map[string]any)["Retry-After"] == nil {
		t.Errorf("batch with PATCH faults: %v", got)
	}

	e.srv.SetFaults(Faults{RateTruncate: 1})
	r2, err := e.hc.Do(authed(e, "GET", "/v1.0/users"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if json.Valid(raw) {
		t.Errorf("truncated answer is valid JSON: %s", raw)
	}
	e.srv.SetFaults(Faults{RateDrop: 1})
	if resp, err := e.hc.Do(authed(e, "GET", "/v1.0/users")); err == nil {
		resp.Body.Close()
		t.Error("dropped connection gave an answer")
	}
	e.srv.SetFaults(Faults{})
	e.mustStatus(e.call("GET", "/v1.0/users", nil), 200)
	if st := e.srv.Stats(); st.Injected429 != 2 || st.Injected5xx != 1 || st.Truncated != 1 || st.Dropped < 1 { // the client may retry a dropped GET
		t.Errorf("stats %+v", st)
	}
}

func authed(e *env, method, path string) *http.Request {
	req, _ := http.NewRequest(method, e.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	return req
}

func TestFaultsAreReproducible(t *testing.T) {
	t.Parallel()
	run := func() string {
		e := newEnv(t, Options{Users: 1, Faults: Faults{Rate429: 0.3, Rate5xx: 0.2, Seed: 7}})
		var b strings.Builder
		for range 40 {
			fmt.Fprintf(&b, "%d ", e.call("GET", "/v1.0/users", nil).status)
		}
		return b.String()
	}
	a, b := run(), run()
	if a != b {
		t.Errorf("same seed, different faults:\n%s\n%s", a, b)
	}
	if !strings.Contains(a, "429") || !strings.Contains(a, "200") {
		t.Errorf("fault mix %s", a)
	}
}

func TestMissingPermissionIsForbidden(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 2, Roles: []string{"User.Read.All"}})
	id := e.srv.UserIDs()[0]
	e.mustStatus(e.call("GET", "/v1.0/users", nil), 200)
	r := e.call("GET", "/beta/users/"+id+"/authentication/requirements", nil)
	e.mustStatus(r, 403)
	sameShape(t, "403", docGraphError, r.raw)
	if code := graphErrorCode(t, r); code != "Authorization_RequestDenied" {
		t.Errorf("code %q", code)
	}
	e.srv.SetRoles(nil)
	e.mustStatus(e.call("GET", "/beta/users/"+id+"/authentication/requirements", nil), 200)
}

func TestUnknownPathsAndMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 1})
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/v1.0/groups", 400},
		{"DELETE", "/v1.0/users", 405},
		{"GET", "/v1.0/me", 400},
		{"GET", "/v2.0/users", 404},
		{"GET", "/v1.0/$batch", 405},
	} {
		r := e.call(tc.method, tc.path, nil)
		e.mustStatus(r, tc.status)
		graphErrorCode(t, r)
	}
}

func TestLargeTenantConcurrentUse(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("seeds 100,000 users")
	}
	e := newEnv(t, Options{Users: 100_000, Quotas: Quotas{Disabled: true}})
	ids := e.srv.UserIDs()
	if len(ids) != 100_000 {
		t.Fatalf("%d users", len(ids))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < 400; i += 8 {
				id := ids[(i*7919)%len(ids)]
				r := e.call("PATCH", "/beta/users/"+id+"/authentication/requirements", map[string]string{"perUserMfaState": "enforced"})
				if r.status != 204 {
					errs <- fmt.Sprintf("PATCH %d", r.status)
				}
				if r := e.call("GET", "/v1.0/users/"+id+"/authentication/methods", nil); r.status != 200 {
					errs <- fmt.Sprintf("GET methods %d", r.status)
				}
			}
		})
	}
	wg.Go(func() { // a listing across the tenant while writes go on
		next := e.base + "/v1.0/users?$select=id&$top=999"
		n := 0
		for next != "" {
			r := e.call("GET", next, nil)
			n += len(r.body["value"].([]any))
			next, _ = r.body["@odata.nextLink"].(string)
		}
		if n != 100_000 {
			errs <- fmt.Sprintf("listed %d users", n)
		}
	})
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	if st, _ := e.srv.UserState(ids[0]); st != mfa.StateEnforced {
		t.Errorf("state %s", st)
	}
}

func TestStartTLSAndStart(t *testing.T) {
	t.Parallel()
	s := New(Options{Users: 3})
	base, stop, err := s.StartTLS("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if !strings.HasPrefix(base, "https://127.0.0.1:") || !strings.Contains(string(s.CertificatePEM()), "BEGIN CERTIFICATE") {
		t.Fatalf("base %q, certificate %q", base, s.CertificatePEM())
	}
	e := &env{t: t, srv: s, base: base, hc: s.Client()}
	r := e.call("GET", "/organizations/v2.0/.well-known/openid-configuration", nil)
	e.mustStatus(r, 200)
	if r.body["token_endpoint"] != base+"/organizations/oauth2/v2.0/token" {
		t.Errorf("token_endpoint %v", r.body["token_endpoint"])
	}
	e.token = e.fetchToken("contoso.onmicrosoft.com", "app", "x")
	r = e.call("GET", "/v1.0/users?$top=2", nil)
	e.mustStatus(r, 200)
	if next, _ := r.body["@odata.nextLink"].(string); !strings.HasPrefix(next, base+"/v1.0/users?") {
		t.Errorf("nextLink %q is not on the TLS base URL", next)
	}
	stop()
	if _, err := s.Client().Get(base + "/v1.0/users"); err == nil {
		t.Error("server still answers after stop")
	}

	plain, stopPlain, err := s.Start("")
	if err != nil {
		t.Fatal(err)
	}
	defer stopPlain()
	resp, err := http.Get(plain + "/v1.0/users")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("plain server without a token: %d", resp.StatusCode)
	}
}
