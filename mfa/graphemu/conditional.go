package graphemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Conditional Access (SPEC §11): the tenant's policies (GET /v1.0/identity/conditionalAccess/policies,
// conditionalaccessroot-list-policies.md), its security defaults (GET
// /v1.0/policies/identitySecurityDefaultsEnforcementPolicy), the groups the policies name (groups.go)
// and the registration report (registration.go). A seeded tenant (Options.Users > 0) gets the
// policies of seedConditionalAccess; one without a Microsoft Entra ID P1 or P2 licence
// (Options.NoPremiumLicense) has no policies, security defaults on, and no registration report.

// caTenant is the tenant's Conditional Access. Guarded by directory.mu but flatMu.
type caTenant struct {
	groups           map[string]*group
	policies         []json.RawMessage // conditionalAccessPolicy objects as Graph writes them
	securityDefaults bool
	noPremium        bool // no Entra ID P1/P2: the registration report answers 403

	flatMu    sync.Mutex
	flatCache map[string][]string // transitive members by group id
}

// changed forgets the transitive memberships computed (a group's members changed). Callers hold
// d.mu for writing.
func (t *caTenant) changed() {
	t.flatMu.Lock()
	t.flatCache = nil
	t.flatMu.Unlock()
}

// rolesCARead are the permissions that allow reading the Conditional Access policies and the
// security defaults: Policy.Read.All (conditionalaccessroot-list-policies.md,
// identitysecuritydefaultsenforcementpolicy-get.md; the ReadWrite permission of each includes it).
var rolesCARead = []string{"Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"}
var rolesSecurityDefaultsRead = []string{"Policy.Read.All", "Policy.ReadWrite.SecurityDefaults"}

// securityDefaultsID is the fixed id of the security defaults policy (the Get page's example).
const securityDefaultsID = "00000000-0000-0000-0000-000000000005"

// routeConditional finds the Conditional Access endpoints: identity/conditionalAccess/policies,
// groups/{id}[/transitiveMembers], reports/authenticationMethods/userRegistrationDetails and
// policies/identitySecurityDefaultsEnforcementPolicy. ok is false for a path that is none of them.
func (s *Server) routeConditional(c *call, seg func(int) string) (route, bool) {
	n := len(c.segs)
	get := func(roles []string, h func(*call) result) (route, bool) {
		return route{roles: roles, cost: 1, handle: h}, true
	}
	switch {
	case seg(0) == "identity" && seg(1) == "conditionalaccess" && seg(2) == "policies" && n == 3:
		return get(rolesCARead, s.listCAPolicies)
	case seg(0) == "policies" && seg(1) == "identitysecuritydefaultsenforcementpolicy" && n == 2:
		return get(rolesSecurityDefaultsRead, s.getSecurityDefaults)
	case seg(0) == "groups" && n == 2:
		return get(rolesGroupRead, s.getGroup)
	case seg(0) == "groups" && n == 3 && seg(2) == "transitivemembers":
		return get(rolesGroupRead, s.listTransitiveMembers)
	case seg(0) == "reports" && seg(1) == "authenticationmethods" && seg(2) == "userregistrationdetails" && n == 3:
		return get(rolesRegistrationRead, s.listRegistrationDetails)
	}
	return route{}, false
}

// listCAPolicies answers GET /identity/conditionalAccess/policies: every policy in one page (a
// tenant has at most 195 of them: Entra's service limits). The paging and query options the page
// documents ($top, $skip, $filter, $orderby, $select, $count) are not emulated: refused.
func (s *Server) listCAPolicies(c *call) result {
	for k := range c.query {
		return s.graphError(c, http.StatusBadRequest, "Request_UnsupportedQuery",
			fmt.Sprintf("The query option '%s' is not supported by the emulator on Conditional Access policies.", k))
	}
	s.dir.mu.RLock()
	values := make([]json.RawMessage, len(s.dir.ca.policies))
	copy(values, s.dir.ca.policies)
	s.dir.mu.RUnlock()
	return jsonResult(http.StatusOK, obj{
		{"@odata.context", c.base + "/" + c.version + "/$metadata#identity/conditionalAccess/policies"},
		{"value", values},
	})
}

// getSecurityDefaults answers GET /policies/identitySecurityDefaultsEnforcementPolicy as the Get
// page's example shows it.
func (s *Server) getSecurityDefaults(c *call) result {
	for k := range c.query {
		return s.graphError(c, http.StatusBadRequest, "Request_UnsupportedQuery",
			fmt.Sprintf("The query option '%s' is not supported by the emulator on the security defaults.", k))
	}
	s.dir.mu.RLock()
	on := s.dir.ca.securityDefaults
	s.dir.mu.RUnlock()
	return jsonResult(http.StatusOK, obj{
		{"@odata.context", c.base + "/" + c.version + "/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity"},
		{"id", securityDefaultsID},
		{"displayName", "Security Defaults"},
		{"description", "Security defaults is a set of basic identity security mechanisms recommended by Microsoft. When enabled, these recommendations will be automatically enforced in your organization. Administrators and users will be better protected from common identity related attacks."},
		{"isEnabled", on},
	})
}

// ---- accessors for tests ----

// SetConditionalAccessPolicies replaces the tenant's policies with these conditionalAccessPolicy
// objects (JSON as Graph writes them; each must have an id, a displayName and a state).
func (s *Server) SetConditionalAccessPolicies(policies ...json.RawMessage) error {
	for _, p := range policies {
		var head struct {
			ID, DisplayName, State string
		}
		if err := json.Unmarshal(p, &head); err != nil || head.ID == "" || head.DisplayName == "" || head.State == "" {
			return fmt.Errorf("graphemu: a Conditional Access policy needs an id, a displayName and a state: %s", p)
		}
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	s.dir.ca.policies = append([]json.RawMessage(nil), policies...)
	return nil
}

// ConditionalAccessPolicies returns the tenant's policies as served.
func (s *Server) ConditionalAccessPolicies() []json.RawMessage {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	return append([]json.RawMessage(nil), s.dir.ca.policies...)
}

// SetSecurityDefaults turns the tenant's security defaults on or off.
func (s *Server) SetSecurityDefaults(on bool) {
	s.dir.mu.Lock()
	s.dir.ca.securityDefaults = on
	s.dir.mu.Unlock()
}

// SecurityDefaults reports whether the tenant's security defaults are on.
func (s *Server) SecurityDefaults() bool {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	return s.dir.ca.securityDefaults
}

// SetPremiumLicense says whether the tenant has Microsoft Entra ID P1 or P2 (without, the
// registration report answers 403).
func (s *Server) SetPremiumLicense(premium bool) {
	s.dir.mu.Lock()
	s.dir.ca.noPremium = !premium
	s.dir.mu.Unlock()
}

// SetGuest makes a user a guest (userType Guest) or a member.
func (s *Server) SetGuest(idOrUPN string, guest bool) error {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	u := s.dir.lookup(idOrUPN)
	if u == nil {
		return ErrNotFound
	}
	u.guest = guest
	return nil
}

// RoleMembers is the ids of the members of the activated role of a template.
func (s *Server) RoleMembers(roleTemplateID string) map[string]bool {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	out := map[string]bool{}
	if r := s.dir.roleLocked("roleTemplateId=" + strings.ToLower(roleTemplateID)); r != nil {
		for id := range r.members {
			out[id] = true
		}
	}
	return out
}
