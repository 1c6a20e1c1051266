package graphemu

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// Tests of the rules in the package documentation's table, one (or a few) a rule.

func errorMessage(r reply) string {
	return r.body["error"].(map[string]any)["message"].(string)
}

// A batch that is neither fully parallel nor fully sequential is refused whole with Graph's
// message; nothing in it runs.
func TestBatchMixedIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 4})
	ids := e.srv.UserIDs()
	hdr := map[string]string{"Content-Type": "application/json"}
	patch := func(id, user string, deps ...string) map[string]any {
		m := step(id, "PATCH", "/users/"+user+"/authentication/requirements", "headers", hdr,
			"body", map[string]string{"perUserMfaState": "enforced"})
		if deps != nil {
			m["dependsOn"] = deps
		}
		return m
	}
	for name, b := range map[string]map[string]any{
		// a PATCH → GET chain beside an independent request: what the runner sent
		"chain and independent": batchOf(patch("1", ids[0]), step("2", "GET", "/users/"+ids[0]+"/authentication/requirements", "dependsOn", []string{"1"}),
			patch("3", ids[1])),
		"two chains": batchOf(patch("1", ids[0]), step("2", "GET", "/users/"+ids[0], "dependsOn", []string{"1"}),
			patch("3", ids[1]), step("4", "GET", "/users/"+ids[1], "dependsOn", []string{"3"})),
		"fan-in":            batchOf(patch("1", ids[0]), patch("2", ids[1]), step("3", "GET", "/users", "dependsOn", []string{"1", "2"})),
		"skips one":         batchOf(patch("1", ids[0]), patch("2", ids[1], "1"), patch("3", ids[2], "1")),
		"first depends too": batchOf(patch("1", ids[0]), patch("2", ids[1], "1"), patch("3", ids[2], "2"), patch("4", ids[3], "1")),
	} {
		r := e.call("POST", "/beta/$batch", b)
		e.mustStatus(r, 400)
		if code := graphErrorCode(t, r); code != "BadRequest" || errorMessage(r) != "Batch should be either fully sequential or fully parallel" {
			t.Errorf("%s: %s %q", name, code, errorMessage(r))
		}
	}
	if st := e.srv.Stats(); st.StateChanges != 0 || st.BatchesRefused != 5 || st.BatchRequests != 0 {
		t.Errorf("a refused batch ran requests: %+v", st)
	}
	// dependsOn only to an earlier request.
	r := e.call("POST", "/beta/$batch", batchOf(patch("1", ids[0], "2"), patch("2", ids[1])))
	e.mustStatus(r, 400)
	if !strings.HasPrefix(errorMessage(r), "Invalid dependency for request Id '1'") {
		t.Errorf("forward dependency: %q", errorMessage(r))
	}
	// Fully sequential and fully parallel batches are accepted.
	e.mustStatus(e.call("POST", "/beta/$batch", batchOf(patch("1", ids[0]), patch("2", ids[1], "1"), patch("3", ids[2], "2"))), 200)
	e.mustStatus(e.call("POST", "/beta/$batch", batchOf(patch("1", ids[0]), patch("2", ids[1]), patch("3", ids[2]))), 200)
}

// Parallel requests run, and answer, in an order of Graph's choosing: over a few batches the
// answers are not always in request order.
func TestBatchParallelAnswersInAnyOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 20})
	var steps []map[string]any
	for i, id := range e.srv.UserIDs() {
		steps = append(steps, step(strconv.Itoa(i), "GET", "/users/"+id))
	}
	inOrder := 0
	for range 5 {
		r := e.call("POST", "/v1.0/$batch", batchOf(steps...))
		e.mustStatus(r, 200)
		var got []string
		for _, v := range r.body["responses"].([]any) {
			got = append(got, v.(map[string]any)["id"].(string))
		}
		if len(got) != 20 {
			t.Fatalf("%d responses", len(got))
		}
		if slices.IsSortedFunc(got, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y }) {
			inOrder++
		}
	}
	if inOrder == 5 {
		t.Error("parallel batches always answer in request order")
	}
}

// A throttled answer announces Retry-After in whole seconds and never a millisecond header, with
// the throttle scope naming the application and the tenant's GUID.
func TestThrottledAnswerHeaders(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, Options{Users: 3, Now: clock.Now, Quotas: Quotas{ReadUnitsPer10s: 3}})
	var r reply
	for range 4 {
		r = e.call("GET", "/v1.0/users/"+e.srv.UserIDs()[0], nil)
	}
	e.mustStatus(r, 429)
	tenant := TenantGUID("contoso.onmicrosoft.com")
	if !isGUID(tenant) || r.header.Get("Retry-After") != "4" || r.header.Get("x-ms-retry-after-ms") != "" ||
		r.header.Get("x-ms-throttle-scope") != "Tenant_Application/Read/11111111-2222-3333-4444-555555555555/"+tenant ||
		r.header.Get("x-ms-throttle-information") != "ResourceUnitLimitExceeded" {
		t.Errorf("429 headers: %v", r.header)
	}
	inner := r.body["error"].(map[string]any)["innerError"].(map[string]any)
	if graphErrorCode(t, r) != "TooManyRequests" || inner["code"] != "429" || inner["status"] != "429" {
		t.Errorf("429 body: %s", r.raw)
	}
	// Injected throttling: whole seconds too, however short the wait asked for.
	e.srv.SetFaults(Faults{Rate429: 1, RetryAfter: 20 * time.Millisecond})
	r = e.call("GET", "/v1.0/users", nil)
	if r.status != 429 || r.header.Get("Retry-After") != "1" || r.header.Get("x-ms-retry-after-ms") != "" {
		t.Errorf("injected 429: %d %v", r.status, r.header)
	}
}

// The application+tenant quota depends on the tenant's size: a full bucket covers exactly one
// window's units, 3,500 under 50 users, 5,000 up to 500, 8,000 above.
func TestQuotaTiersByTenantSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ users, units int }{{10, 3500}, {49, 3500}, {50, 5000}, {500, 5000}, {501, 8000}} {
		if got := ReadUnitsForTenant(tc.users); got != tc.units {
			t.Errorf("ReadUnitsForTenant(%d) = %d", tc.users, got)
		}
		t.Run(strconv.Itoa(tc.users), func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			e := newEnv(t, Options{Users: tc.users, Now: clock.Now})
			id := e.srv.UserIDs()[0]
			var steps []map[string]any
			for i := range 20 {
				steps = append(steps, step(strconv.Itoa(i), "GET", "/users/"+id))
			}
			ok := 0
			for range tc.units/20 + 2 {
				r := e.call("POST", "/v1.0/$batch", batchOf(steps...))
				for _, m := range responsesByID(t, r) {
					if m["status"] == 200.0 {
						ok++
					}
				}
			}
			if ok != tc.units {
				t.Errorf("%d users: %d units served in one window, want %d", tc.users, ok, tc.units)
			}
			// The bucket refills at the quota's rate: a tenth of the window gives a tenth of it.
			clock.Advance(time.Second)
			r := e.call("POST", "/v1.0/$batch", batchOf(steps...))
			n := 0
			for _, m := range responsesByID(t, r) {
				if m["status"] == 200.0 {
					n++
				}
			}
			if want := min(20, tc.units/10); n != want {
				t.Errorf("after 1 s: %d served, want %d", n, want)
			}
		})
	}
}

// The tenant-wide write limit counts every application's writes in the tenant; the scope says so.
func TestTenantWideWriteLimit(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, Options{Users: 3, Now: clock.Now, Quotas: Quotas{TenantWritesPer5m: 4}})
	id := e.srv.UserIDs()[0]
	patch := func() reply {
		return e.call("PATCH", "/beta/users/"+id+"/authentication/requirements", map[string]string{"perUserMfaState": "enforced"})
	}
	e.mustStatus(patch(), 204)
	e.mustStatus(patch(), 204)
	first := e.token
	e.token = e.fetchToken("contoso.onmicrosoft.com", "22222222-2222-3333-4444-555555555555", "x")
	e.mustStatus(patch(), 204)
	e.mustStatus(patch(), 204)
	r := patch()
	e.mustStatus(r, 429)
	if scope := r.header.Get("x-ms-throttle-scope"); !strings.HasPrefix(scope, "Tenant/Write/22222222-") ||
		!strings.HasSuffix(scope, TenantGUID("contoso.onmicrosoft.com")) || r.header.Get("Retry-After") != "75" {
		t.Errorf("tenant-wide 429: %v", r.header)
	}
	e.token = first
	e.mustStatus(patch(), 429)
	e.mustStatus(e.call("GET", "/v1.0/users/"+id, nil), 200) // reads are not written
	// Another tenant is not affected.
	e.token = e.fetchToken("fabrikam.onmicrosoft.com", "22222222-2222-3333-4444-555555555555", "x")
	e.mustStatus(patch(), 204)
}

// The application-wide limit counts an application's requests in every tenant.
func TestApplicationWideLimit(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, Options{Users: 3, Now: clock.Now, Quotas: Quotas{AppUnitsPer20s: 5, AppWritesPer5m: 100}})
	id := e.srv.UserIDs()[0]
	for range 3 {
		e.mustStatus(e.call("GET", "/v1.0/users/"+id, nil), 200)
	}
	e.token = e.fetchToken("fabrikam.onmicrosoft.com", "11111111-2222-3333-4444-555555555555", "x")
	e.mustStatus(e.call("GET", "/v1.0/users/"+id, nil), 200)
	e.mustStatus(e.call("GET", "/v1.0/users/"+id, nil), 200)
	r := e.call("GET", "/v1.0/users/"+id, nil)
	e.mustStatus(r, 429)
	if scope := r.header.Get("x-ms-throttle-scope"); !strings.HasPrefix(scope, "Application/Read/11111111-") {
		t.Errorf("application-wide 429: %v", r.header)
	}
	e.token = e.fetchToken("fabrikam.onmicrosoft.com", "another-app", "x")
	e.mustStatus(e.call("GET", "/v1.0/users/"+id, nil), 200)
}

// The default method cannot be deleted while any other method remains, with Graph's code and
// message, system-preferred MFA on or off; deleted last, it goes.
func TestDefaultMethodRule(t *testing.T) {
	t.Parallel()
	for _, off := range []bool{false, true} {
		e := newEnv(t, Options{Users: 1, SystemPreferredMFAOff: off})
		id := e.srv.UserIDs()[0]
		err := e.srv.SetUserMethods(id, []mfa.Method{{Type: mfa.MethodAuthenticatorPush, IsDefault: true}, {Type: mfa.MethodEmail}, {Type: mfa.MethodFIDO2}})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := e.srv.User(id)
		del := func(m Method) reply {
			return e.call("DELETE", "/v1.0/users/"+id+"/authentication/"+map[mfa.MethodType]string{
				mfa.MethodAuthenticatorPush: "microsoftAuthenticatorMethods", mfa.MethodEmail: "emailMethods", mfa.MethodFIDO2: "fido2Methods",
			}[m.Type]+"/"+m.ID, nil)
		}
		for i := range u.Methods {
			if !u.Methods[i].IsDefault {
				continue
			}
			r := del(u.Methods[i])
			e.mustStatus(r, 400)
			inner := r.body["error"].(map[string]any)["innerError"].(map[string]any)
			if graphErrorCode(t, r) != "badRequest" || errorMessage(r) != MsgDefaultMethod || inner["message"] != MsgDefaultMethod {
				t.Errorf("system-preferred off=%v: %s", off, r.raw)
			}
		}
		for _, m := range u.Methods {
			if !m.IsDefault {
				e.mustStatus(del(m), 204)
			}
		}
		for _, m := range u.Methods {
			if m.IsDefault {
				e.mustStatus(del(m), 204)
			}
		}
		if u, _ := e.srv.User(id); len(u.Methods) != 0 {
			t.Errorf("left %v", u.Methods)
		}
	}
}

// System-preferred MFA is on in a new tenant: the beta policy and the user's signInPreferences
// say so; the option turns it off; v1.0's policy has no such property.
func TestSystemPreferredMFA(t *testing.T) {
	t.Parallel()
	for _, off := range []bool{false, true} {
		e := newEnv(t, Options{Users: 1, SystemPreferredMFAOff: off})
		id := e.srv.UserIDs()[0]
		r := e.call("GET", "/beta/users/"+id+"/authentication/signInPreferences", nil)
		e.mustStatus(r, 200)
		if r.body["isSystemPreferredAuthenticationMethodEnabled"] != !off {
			t.Errorf("off=%v: %s", off, r.raw)
		}
		r = e.call("GET", "/beta/policies/authenticationMethodsPolicy", nil)
		want := map[bool]string{false: "enabled", true: "disabled"}[off]
		if scp, _ := r.body["systemCredentialPreferences"].(map[string]any); scp["state"] != want {
			t.Errorf("off=%v: beta policy %s", off, r.raw)
		}
		r = e.call("GET", "/v1.0/policies/authenticationMethodsPolicy", nil)
		if _, ok := r.body["systemCredentialPreferences"]; ok {
			t.Errorf("v1.0 policy has systemCredentialPreferences")
		}
	}
	e := newEnv(t, Options{Users: 1})
	id := e.srv.UserIDs()[0]
	e.mustStatus(e.call("PATCH", "/beta/users/"+id+"/authentication/signInPreferences",
		map[string]any{"isSystemPreferredAuthenticationMethodEnabled": false}), 204)
	if r := e.call("GET", "/beta/users/"+id+"/authentication/signInPreferences", nil); r.body["isSystemPreferredAuthenticationMethodEnabled"] != false {
		t.Errorf("per-user switch: %s", r.raw)
	}
	e.mustStatus(e.call("PATCH", "/beta/policies/authenticationMethodsPolicy",
		map[string]any{"systemCredentialPreferences": map[string]string{"state": "sometimes"}}), 400)
}

// Hardware OATH tokens exist on beta only: v1.0 lists leave them out and have no collection.
func TestHardwareOathOnBetaOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 1})
	id := e.srv.UserIDs()[0]
	_ = e.srv.SetUserMethods(id, []mfa.Method{{Type: mfa.MethodHardwareOTP, IsDefault: true}, {Type: mfa.MethodMobilePhone}})
	u, _ := e.srv.User(id)
	hw := u.Methods[0].ID
	types := func(version string) []string {
		r := e.call("GET", "/"+version+"/users/"+id+"/authentication/methods", nil)
		e.mustStatus(r, 200)
		var out []string
		for _, v := range r.body["value"].([]any) {
			out = append(out, v.(map[string]any)["@odata.type"].(string))
		}
		return out
	}
	if got := types("v1.0"); slices.Contains(got, odataHardwareOath) || len(got) != 2 {
		t.Errorf("v1.0 methods: %v", got)
	}
	if got := types("beta"); !slices.Contains(got, odataHardwareOath) || len(got) != 3 {
		t.Errorf("beta methods: %v", got)
	}
	e.mustStatus(e.call("GET", "/v1.0/users/"+id+"/authentication/hardwareOathMethods", nil), 400)
	e.mustStatus(e.call("GET", "/v1.0/users/"+id+"/authentication/methods/"+hw, nil), 404)
	r := e.call("GET", "/beta/users/"+id+"/authentication/hardwareOathMethods/"+hw, nil)
	e.mustStatus(r, 200)
	if r.body["createdDateTime"] == nil {
		t.Errorf("hardware OATH: %s", r.raw)
	}
	e.mustStatus(e.call("DELETE", "/v1.0/users/"+id+"/authentication/hardwareOathMethods/"+hw, nil), 400)
	e.mustStatus(e.call("DELETE", "/beta/users/"+id+"/authentication/phoneMethods/"+MobilePhoneMethodID, nil), 204)
	e.mustStatus(e.call("DELETE", "/beta/users/"+id+"/authentication/hardwareOathMethods/"+hw, nil), 204)
}

// A page size outside 1..999 is Request_UnsupportedQuery.
func TestBadTopIsUnsupportedQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 2})
	for _, top := range []string{"0", "1000", "x"} {
		for _, path := range []string{"/v1.0/users?$top=", "/v1.0/directoryRoles/roleTemplateId=" + GlobalAdministratorTemplateID + "/members?$top="} {
			r := e.call("GET", path+top, nil)
			e.mustStatus(r, 400)
			if code := graphErrorCode(t, r); code != "Request_UnsupportedQuery" || !strings.Contains(errorMessage(r), "'"+top+"'") {
				t.Errorf("%s%s: %s %q", path, top, code, errorMessage(r))
			}
		}
	}
}

// The faults that test clients: a refusal (permanent, every time), an answer that is not JSON,
// batch answers missing an item or naming an unknown one, a Retry-After that is not a number.
func TestClientTestingFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 3})
	ids := e.srv.UserIDs()
	e.srv.SetFaults(Faults{Refuse: func(method, path string) bool { return strings.Contains(path, ids[1]) }})
	for range 2 {
		r := e.call("GET", "/v1.0/users/"+ids[1], nil)
		e.mustStatus(r, 400)
		if errorMessage(r) != InjectedRefusalMessage {
			t.Errorf("refusal: %s", r.raw)
		}
	}
	e.mustStatus(e.call("GET", "/v1.0/users/"+ids[0], nil), 200)

	e.srv.SetFaults(Faults{RateNonJSON: 1})
	resp, err := e.hc.Do(authed(e, "GET", "/v1.0/users"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || json.Valid(raw) {
		t.Errorf("non-JSON answer: %d %s", resp.StatusCode, raw)
	}

	var steps []map[string]any
	for i, id := range ids {
		steps = append(steps, step(fmt.Sprint(i), "GET", "/users/"+id))
	}
	e.srv.SetFaults(Faults{RateMissingItem: 1})
	if r := e.call("POST", "/v1.0/$batch", batchOf(steps...)); len(r.body["responses"].([]any)) != 0 {
		t.Errorf("missing items: %s", r.raw)
	}
	e.srv.SetFaults(Faults{RateUnknownID: 1})
	for id := range responsesByID(t, e.call("POST", "/v1.0/$batch", batchOf(steps...))) {
		if !strings.HasSuffix(id, "-unknown") {
			t.Errorf("id %q", id)
		}
	}
	e.srv.SetFaults(Faults{Rate429: 1, RetryAfterValue: "abc"})
	if r := e.call("GET", "/v1.0/users", nil); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "abc" {
		t.Errorf("Retry-After value: %d %v", r.status, r.header)
	}
	if st := e.srv.Stats(); st.Refused != 2 || st.NonJSON != 1 || st.ItemsMangled != 6 {
		t.Errorf("stats %+v", st)
	}
}
