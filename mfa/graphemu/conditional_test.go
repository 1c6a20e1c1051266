package graphemu

import (
	"encoding/json"
	"strings"
	"testing"
)

// A seeded tenant's Conditional Access: the six policies of the seed in Graph's shape, each state
// represented, the break-glass accounts excluded from the baseline, security defaults off.
func TestSeededConditionalAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 600})
	r := e.call("GET", "/v1.0/identity/conditionalAccess/policies", nil)
	e.mustStatus(r, 200)
	if got, want := r.body["@odata.context"], e.base+"/v1.0/$metadata#identity/conditionalAccess/policies"; got != want {
		t.Errorf("@odata.context = %v, want %v", got, want)
	}
	policies := r.body["value"].([]any)
	states := map[string]int{}
	for _, v := range policies {
		p := v.(map[string]any)
		states[p["state"].(string)]++
		for _, k := range []string{"id", "displayName", "conditions", "grantControls", "sessionControls", "createdDateTime"} {
			if _, ok := p[k]; !ok {
				t.Errorf("%v has no %s", p["displayName"], k)
			}
		}
	}
	if len(policies) != 6 || states["enabled"] != 4 || states["enabledForReportingButNotEnforced"] != 1 || states["disabled"] != 1 {
		t.Fatalf("%d policies, states %v", len(policies), states)
	}
	baseline := policies[0].(map[string]any)["conditions"].(map[string]any)["users"].(map[string]any)
	breakGlass := baseline["excludeUsers"].([]any)
	if len(breakGlass) != 2 || !e.srv.Privileged(breakGlass[0].(string)) || !e.srv.Privileged(breakGlass[1].(string)) {
		t.Errorf("break-glass accounts: %v", breakGlass)
	}
	if g := baseline["excludeGroups"].([]any); len(g) != 2 || g[0] != GroupID(GroupWave2) {
		t.Errorf("baseline's excluded groups: %v", g)
	}
	strength := policies[1].(map[string]any)["grantControls"].(map[string]any)["authenticationStrength"].(map[string]any)
	if strength["requirementsSatisfied"] != "mfa" || strength["id"] != mfaStrengthID {
		t.Errorf("admins' strength: %v", strength)
	}
	r = e.call("GET", "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy", nil)
	e.mustStatus(r, 200)
	if r.body["isEnabled"] != false || r.body["id"] != securityDefaultsID {
		t.Errorf("security defaults: %s", r.raw)
	}
	// Query options the emulator does not apply are refused, not ignored.
	e.mustStatus(e.call("GET", "/v1.0/identity/conditionalAccess/policies?$filter=state%20eq%20'enabled'", nil), 400)
	e.mustStatus(e.call("POST", "/v1.0/identity/conditionalAccess/policies", map[string]any{}), 405)
}

// transitiveMembers flattens nested groups: the pilot holds Finance, which holds Payroll; users and
// groups come with their @odata.type, paged by $top with @odata.nextLink.
func TestTransitiveMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 300})
	pilot := GroupID(GroupPilot)
	want := e.srv.TransitiveUserMembers(pilot)
	finance := e.srv.TransitiveUserMembers(GroupID(GroupFinance))
	payroll := e.srv.TransitiveUserMembers(GroupID(GroupPayroll))
	if len(payroll) == 0 || len(finance) <= len(payroll) || len(want) <= len(finance) {
		t.Fatalf("nesting: pilot %d, finance %d, payroll %d users", len(want), len(finance), len(payroll))
	}
	for id := range payroll {
		if !want[id] {
			t.Fatalf("payroll user %s is not a transitive member of the pilot", id)
		}
	}
	got := map[string]bool{}
	groups := map[string]bool{}
	next := e.base + "/v1.0/groups/" + pilot + "/transitiveMembers?$select=id&$top=7"
	for pages := 0; next != ""; pages++ {
		r := e.call("GET", next, nil)
		e.mustStatus(r, 200)
		for _, v := range r.body["value"].([]any) {
			m := v.(map[string]any)
			switch m["@odata.type"] {
			case "#microsoft.graph.user":
				got[m["id"].(string)] = true
			case "#microsoft.graph.group":
				groups[m["id"].(string)] = true
			default:
				t.Fatalf("member %v", m)
			}
			if len(m) != 2 {
				t.Fatalf("member %v: want @odata.type and id only", m)
			}
		}
		next, _ = r.body["@odata.nextLink"].(string)
		if pages > 200 {
			t.Fatal("endless paging")
		}
	}
	if len(got) != len(want) || !groups[GroupID(GroupFinance)] || !groups[GroupID(GroupPayroll)] || len(groups) != 2 {
		t.Errorf("users %d (want %d), groups %v", len(got), len(want), groups)
	}
	r := e.call("GET", "/v1.0/groups/"+pilot+"?$select=id,displayName", nil)
	if e.mustStatus(r, 200); r.body["displayName"] != GroupPilot {
		t.Errorf("group: %s", r.raw)
	}
	e.mustStatus(e.call("GET", "/v1.0/groups/"+pilot+"/transitiveMembers?$top=1000", nil), 400)
	e.mustStatus(e.call("GET", "/v1.0/groups/"+pilot+"/transitiveMembers?$count=true", nil), 400)
	r = e.call("GET", "/v1.0/groups/00000000-0000-0000-0000-000000000000/transitiveMembers", nil)
	if e.mustStatus(r, 404); graphErrorCode(t, r) != "Request_ResourceNotFound" {
		t.Errorf("unknown group: %s", r.raw)
	}
	// Without a group permission: 403.
	e.srv.SetRoles([]string{"User.Read.All", "Policy.Read.All"})
	e.mustStatus(e.call("GET", "/v1.0/groups/"+pilot+"/transitiveMembers", nil), 403)
	e.srv.SetRoles([]string{"GroupMember.ReadBasic.All"})
	e.mustStatus(e.call("GET", "/v1.0/groups/"+pilot+"/transitiveMembers", nil), 200)
}

// The registration report: every user once, in pages with @odata.nextLink, methods by Graph's names
// and the default as userPreferredMethodForSecondaryAuthentication; 403 without the permission or
// without the licence, with Graph's code and message.
func TestRegistrationDetails(t *testing.T) {
	t.Parallel()
	const n = 2500
	e := newEnv(t, Options{Users: n})
	seen := 0
	next := e.base + "/v1.0/reports/authenticationMethods/userRegistrationDetails"
	pages := 0
	for ; next != ""; pages++ {
		r := e.call("GET", next, nil)
		e.mustStatus(r, 200)
		for _, v := range r.body["value"].([]any) {
			rec := v.(map[string]any)
			u, ok := e.srv.User(rec["id"].(string))
			if !ok || rec["userPrincipalName"] != u.UPN || rec["userType"] != "member" {
				t.Fatalf("record %v", rec)
			}
			var names []string
			def := ""
			for _, m := range u.Methods {
				names = append(names, string(m.Type))
				if m.IsDefault {
					def = preferredValue(m.Type)
				}
			}
			got, _ := json.Marshal(rec["methodsRegistered"])
			if want, _ := json.Marshal(append([]string{}, names...)); string(got) != string(want) {
				t.Fatalf("%s: methods %s, want %s", u.UPN, got, want)
			}
			if def != "" && rec["userPreferredMethodForSecondaryAuthentication"] != def {
				t.Fatalf("%s: default %v, want %s", u.UPN, rec["userPreferredMethodForSecondaryAuthentication"], def)
			}
			seen++
		}
		next, _ = r.body["@odata.nextLink"].(string)
	}
	if seen != n || pages != 3 {
		t.Errorf("%d records in %d pages, want %d in 3", seen, pages, n)
	}
	e.mustStatus(e.call("GET", "/v1.0/reports/authenticationMethods/userRegistrationDetails?$top=10", nil), 400)

	e.srv.SetRoles([]string{"UserAuthenticationMethod.ReadWrite.All", "Policy.Read.All"})
	r := e.call("GET", "/v1.0/reports/authenticationMethods/userRegistrationDetails", nil)
	if e.mustStatus(r, 403); graphErrorCode(t, r) != "Authorization_RequestDenied" {
		t.Errorf("without AuditLog.Read.All: %s", r.raw)
	}
	e.srv.SetRoles([]string{"UserAuthenticationMethod.Read.All"})
	e.mustStatus(e.call("GET", "/v1.0/reports/authenticationMethods/userRegistrationDetails", nil), 200)
	e.srv.SetRoles(nil)
	e.srv.SetPremiumLicense(false)
	r = e.call("GET", "/v1.0/reports/authenticationMethods/userRegistrationDetails", nil)
	if e.mustStatus(r, 403); graphErrorCode(t, r) != "Authentication_RequestFromNonPremiumTenantOrB2CTenant" || !strings.Contains(string(r.raw), MsgNoPremiumLicense) {
		t.Errorf("without the licence: %s", r.raw)
	}
}

// A tenant without P1 or P2: no policies, security defaults on, no registration report.
func TestTenantWithoutPremium(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 50, NoPremiumLicense: true})
	r := e.call("GET", "/v1.0/identity/conditionalAccess/policies", nil)
	if e.mustStatus(r, 200); len(r.body["value"].([]any)) != 0 {
		t.Errorf("policies: %s", r.raw)
	}
	if r := e.call("GET", "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy", nil); r.body["isEnabled"] != true {
		t.Errorf("security defaults: %s", r.raw)
	}
	e.mustStatus(e.call("GET", "/v1.0/reports/authenticationMethods/userRegistrationDetails", nil), 403)
	// Guests are users whose userType says so.
	id := e.srv.UserIDs()[3]
	if err := e.srv.SetGuest(id, true); err != nil {
		t.Fatal(err)
	}
	if r := e.call("GET", "/v1.0/users/"+id+"?$select=id,userType", nil); r.body["userType"] != "Guest" {
		t.Errorf("guest: %s", r.raw)
	}
}
