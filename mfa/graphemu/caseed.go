package graphemu

import (
	"encoding/json"
	"time"
)

// The Conditional Access of a seeded tenant: a tenant part-way through its move from per-user MFA,
// as Microsoft's guidance has admins do it — a baseline for all users with the break-glass accounts
// excluded (Entra: "Manage emergency access accounts") and a second wave still excluded by group,
// administrators by role with an authentication strength, a pilot group with nested groups,
// service accounts evaluated in report-only, a disabled policy for guests, and one limited by
// location that therefore does not count. Members are picked by position, so a seeded tenant is the
// same every time.

// Seeded group names (their ids are derivedID("group", name): GroupID).
const (
	GroupPilot           = "MFA pilot"
	GroupFinance         = "Finance"
	GroupPayroll         = "Finance - Payroll"
	GroupServiceAccounts = "Service accounts"
	GroupWave2           = "CA001 exclusions: migration wave 2"
)

// GroupID is the id of a group created by AddGroup or the seed, from its name.
func GroupID(displayName string) string { return derivedID("group", displayName) }

// The built-in "Multifactor authentication" authentication strength (authenticationstrengthpolicy.md).
const mfaStrengthID = "00000000-0000-0000-0000-000000000002"

// adminRoleTemplates are the roles the administrators' policy includes (Microsoft's template policy
// "Require multifactor authentication for admins" names these and more).
var adminRoleTemplates = []string{GlobalAdministratorTemplateID, PrivilegedAuthenticationAdminTemplateID,
	AuthenticationAdministratorTemplateID, HelpdeskAdministratorTemplateID, UserAdministratorTemplateID}

func (d *directory) seedConditionalAccess(noPremium bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if noPremium {
		// Without P1 there is no Conditional Access: security defaults are the protection there is
		// (seeds/003: "For Azure AD free tenants without Conditional Access, you can use security
		// defaults").
		d.ca.noPremium, d.ca.securityDefaults = true, true
		return
	}
	if len(d.users) == 0 {
		return
	}
	pick := func(keep func(i int) bool) []string {
		var out []string
		for i, u := range d.users {
			if keep(i) {
				out = append(out, u.id)
			}
		}
		return out
	}
	// The break-glass accounts: the first two Global Administrators.
	var breakGlass []string
	if ga := d.roleLocked("roleTemplateId=" + GlobalAdministratorTemplateID); ga != nil {
		for _, u := range d.users {
			if ga.members[u.id] && len(breakGlass) < 2 {
				breakGlass = append(breakGlass, u.id)
			}
		}
	}
	d.ca.groups = map[string]*group{}
	add := func(name string, members ...[]string) string {
		g := &group{id: GroupID(name), displayName: name}
		for _, m := range members {
			g.members = append(g.members, m...)
		}
		d.ca.groups[g.id] = g
		return g.id
	}
	payroll := add(GroupPayroll, pick(func(i int) bool { return i%20 == 3 }))
	finance := add(GroupFinance, pick(func(i int) bool { return i%10 == 2 }), []string{payroll})
	pilot := add(GroupPilot, pick(func(i int) bool { return i%10 == 1 }), []string{finance})
	service := add(GroupServiceAccounts, pick(func(i int) bool { return i%25 == 5 }))
	wave2 := add(GroupWave2, pick(func(i int) bool { return i%3 == 0 }))
	d.ca.changed()

	at := d.createdAt.Add(24 * time.Hour)
	all := []string{"All"}
	d.ca.policies = []json.RawMessage{
		caPolicyJSON(at, "CA001: Require multifactor authentication for all users", "enabled",
			caUsers{include: all, excludeUsers: breakGlass, excludeGroups: []string{wave2, service}}, nil, grantMFA()),
		caPolicyJSON(at, "CA002: Require multifactor authentication for admins", "enabled",
			caUsers{includeRoles: adminRoleTemplates, excludeUsers: breakGlass}, nil, grantStrength()),
		caPolicyJSON(at, "CA003: Require multifactor authentication for the MFA pilot", "enabled",
			caUsers{includeGroups: []string{pilot}}, nil, grantMFA()),
		caPolicyJSON(at, "CA004: Require multifactor authentication for service accounts", "enabledForReportingButNotEnforced",
			caUsers{includeGroups: []string{service}}, nil, grantMFA()),
		caPolicyJSON(at, "CA005: Require multifactor authentication for guest access", "disabled",
			caUsers{include: []string{"GuestsOrExternalUsers"}}, nil, grantMFA()),
		caPolicyJSON(at, "CA006: Require multifactor authentication outside trusted locations", "enabled",
			caUsers{include: all, excludeUsers: breakGlass},
			obj{{"includeLocations", all}, {"excludeLocations", []string{"AllTrusted"}}}, grantMFA()),
	}
}

type caUsers struct {
	include, excludeUsers, includeGroups, excludeGroups, includeRoles []string
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func grantMFA() obj {
	return obj{{"operator", "OR"}, {"builtInControls", []string{"mfa"}}, {"customAuthenticationFactors", []string{}},
		{"termsOfUse", []string{}}, {"authenticationStrength", nil}}
}

func grantStrength() obj {
	return obj{{"operator", "OR"}, {"builtInControls", []string{}}, {"customAuthenticationFactors", []string{}},
		{"termsOfUse", []string{}},
		{"authenticationStrength@odata.context", "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies('x')/grantControls/authenticationStrength/$entity"},
		{"authenticationStrength", obj{
			{"id", mfaStrengthID}, {"createdDateTime", "2021-12-01T00:00:00Z"}, {"modifiedDateTime", "2021-12-01T00:00:00Z"},
			{"displayName", "Multifactor authentication"},
			{"description", "Combinations of methods that satisfy strong authentication, such as a password + SMS"},
			{"policyType", "builtIn"}, {"requirementsSatisfied", "mfa"},
			{"allowedCombinations", []string{"windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor", "deviceBasedPush",
				"temporaryAccessPassOneTime", "temporaryAccessPassMultiUse", "password,microsoftAuthenticatorPush",
				"password,softwareOath", "password,hardwareOath", "password,sms", "password,voice", "federatedMultiFactor",
				"microsoftAuthenticatorPush,federatedSingleFactor", "softwareOath,federatedSingleFactor",
				"hardwareOath,federatedSingleFactor", "sms,federatedSingleFactor", "voice,federatedSingleFactor"}},
		}},
	}
}

// caPolicyJSON is a conditionalAccessPolicy as Graph's v1.0 list writes it (the list page's
// example, with the properties added since: applicationFilter, authenticationFlows, insiderRiskLevels...).
func caPolicyJSON(at time.Time, name, state string, u caUsers, locations obj, grant obj) json.RawMessage {
	var loc any
	if locations != nil {
		loc = locations
	}
	p := obj{
		{"id", derivedID("conditionalAccessPolicy", name)},
		{"templateId", nil},
		{"displayName", name},
		{"createdDateTime", at.UTC().Format(time.RFC3339)},
		{"modifiedDateTime", nil},
		{"state", state},
		{"sessionControls", nil},
		{"conditions", obj{
			{"userRiskLevels", []string{}}, {"signInRiskLevels", []string{}}, {"clientAppTypes", []string{"all"}},
			{"servicePrincipalRiskLevels", []string{}}, {"insiderRiskLevels", nil}, {"platforms", nil}, {"locations", loc},
			{"devices", nil}, {"clientApplications", nil}, {"authenticationFlows", nil},
			{"applications", obj{{"includeApplications", []string{"All"}}, {"excludeApplications", []string{}},
				{"includeUserActions", []string{}}, {"includeAuthenticationContextClassReferences", []string{}}, {"applicationFilter", nil}}},
			{"users", obj{{"includeUsers", orEmpty(u.include)}, {"excludeUsers", orEmpty(u.excludeUsers)},
				{"includeGroups", orEmpty(u.includeGroups)}, {"excludeGroups", orEmpty(u.excludeGroups)},
				{"includeRoles", orEmpty(u.includeRoles)}, {"excludeRoles", []string{}},
				{"includeGuestsOrExternalUsers", nil}, {"excludeGuestsOrExternalUsers", nil}}},
		}},
		{"grantControls", grant},
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic("graphemu: " + err.Error())
	}
	return b
}
