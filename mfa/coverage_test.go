package mfa

import (
	"slices"
	"strings"
	"testing"
)

// allUsersMFA is the usual baseline policy: MFA for all users and all cloud apps.
func allUsersMFA(name string) CAPolicy {
	return CAPolicy{ID: strings.ToLower(name), Name: name, State: CAPolicyEnabled,
		Users:      CAUsers{IncludeUsers: []string{"All"}},
		Conditions: CAConditions{IncludeApplications: []string{"All"}, ClientAppTypes: []string{"all"}},
		Grant:      CAGrant{Operator: "OR", BuiltInControls: []string{"mfa"}}}
}

func with(p CAPolicy, edit func(p *CAPolicy)) CAPolicy {
	p.Users.IncludeUsers = slices.Clone(p.Users.IncludeUsers)
	edit(&p)
	return p
}

// The policy shapes a tenant has, each with whether it requires MFA at every sign-in.
func TestRequiresMFA(t *testing.T) {
	base := allUsersMFA("base")
	for _, tc := range []struct {
		name   string
		p      CAPolicy
		counts bool
		why    string // part of the reason when it does not count
	}{
		{"mfa for all apps", base, true, ""},
		{"no clientAppTypes given", with(base, func(p *CAPolicy) { p.Conditions.ClientAppTypes = nil }), true, ""},
		{"mfa AND compliant device", with(base, func(p *CAPolicy) {
			p.Grant = CAGrant{Operator: "AND", BuiltInControls: []string{"mfa", "compliantDevice"}}
		}), true, ""},
		{"mfa OR compliant device", with(base, func(p *CAPolicy) {
			p.Grant = CAGrant{Operator: "OR", BuiltInControls: []string{"mfa", "compliantDevice"}}
		}), false, "another control"},
		{"mfa OR terms of use", with(base, func(p *CAPolicy) { p.Grant.TermsOfUse = []string{"tou"} }), false, "another control"},
		{"built-in strength without requirementsSatisfied", with(base, func(p *CAPolicy) {
			p.Grant = CAGrant{Operator: "OR", Strength: &CAStrength{ID: "00000000-0000-0000-0000-000000000004", Name: "Phishing-resistant MFA"}}
		}), true, ""},
		{"custom strength satisfying mfa", with(base, func(p *CAPolicy) {
			p.Grant = CAGrant{Operator: "OR", Strength: &CAStrength{ID: "custom", RequirementsSatisfied: "mfa"}}
		}), true, ""},
		{"strength that does not satisfy mfa", with(base, func(p *CAPolicy) {
			p.Grant = CAGrant{Operator: "OR", Strength: &CAStrength{ID: "custom", RequirementsSatisfied: "none"}}
		}), false, "does not satisfy MFA"},
		{"block", with(base, func(p *CAPolicy) { p.Grant = CAGrant{Operator: "OR", BuiltInControls: []string{"block"}} }), false, "blocks"},
		{"compliant device only", with(base, func(p *CAPolicy) {
			p.Grant = CAGrant{Operator: "OR", BuiltInControls: []string{"compliantDevice"}}
		}), false, "does not require MFA"},
		{"Office 365 only", with(base, func(p *CAPolicy) { p.Conditions.IncludeApplications = []string{"Office365"} }), false, "some cloud apps"},
		{"all apps but one", with(base, func(p *CAPolicy) { p.Conditions.ExcludeApplications = []string{"00000002-0000-0ff1-ce00-000000000000"} }), false, "excludes"},
		{"register security info", with(base, func(p *CAPolicy) {
			p.Conditions.IncludeApplications = nil
			p.Conditions.IncludeUserActions = []string{"urn:user:registersecurityinfo"}
		}), false, "user action"},
		{"browser only", with(base, func(p *CAPolicy) { p.Conditions.ClientAppTypes = []string{"browser"} }), false, "client apps"},
		{"outside trusted locations", with(base, func(p *CAPolicy) {
			p.Conditions.IncludeLocations, p.Conditions.ExcludeLocations = []string{"All"}, []string{"AllTrusted"}
		}), false, "locations"},
		{"all locations", with(base, func(p *CAPolicy) { p.Conditions.IncludeLocations = []string{"All"} }), true, ""},
		{"iOS only", with(base, func(p *CAPolicy) { p.Conditions.IncludePlatforms = []string{"iOS"} }), false, "platforms"},
		{"all platforms but Linux", with(base, func(p *CAPolicy) {
			p.Conditions.IncludePlatforms, p.Conditions.ExcludePlatforms = []string{"all"}, []string{"linux"}
		}), false, "platforms"},
		{"risky sign-ins", with(base, func(p *CAPolicy) { p.Conditions.SignInRiskLevels = []string{"high", "medium"} }), false, "risky"},
		{"risky users", with(base, func(p *CAPolicy) { p.Conditions.UserRiskLevels = []string{"high"} }), false, "risky"},
		{"insider risk", with(base, func(p *CAPolicy) { p.Conditions.InsiderRiskLevels = "elevated" }), false, "risky"},
		{"device filter", with(base, func(p *CAPolicy) { p.Conditions.DeviceFilter = true }), false, "device filter"},
		{"device code flow", with(base, func(p *CAPolicy) { p.Conditions.AuthenticationFlows = true }), false, "authentication flows"},
		{"workload identities", with(base, func(p *CAPolicy) { p.Conditions.ClientApplications = true }), false, "workload"},
	} {
		counts, why := tc.p.RequiresMFA()
		if counts != tc.counts || !strings.Contains(why, tc.why) {
			t.Errorf("%s: RequiresMFA() = %v %q, want %v %q", tc.name, counts, why, tc.counts, tc.why)
		}
	}
}

// subject is a user in groups and roles, given as sets.
func subject(id string, guest bool, groups, roles []string) CASubject {
	return CASubject{ID: id, Guest: guest,
		InGroup: func(g string) bool { return slices.Contains(groups, g) },
		HasRole: func(r string) bool { return slices.Contains(roles, r) }}
}

const gaRole = "62e90394-69f5-4237-9190-012177145e10"

// Who a policy targets: all users, a user, a group, a role, guests, minus exclusions.
func TestTargets(t *testing.T) {
	alice := subject("aaaa", false, []string{"pilot"}, nil)
	admin := subject("bbbb", false, nil, []string{gaRole})
	breakGlass := subject("cccc", false, []string{"pilot"}, []string{gaRole})
	guest := subject("dddd", true, nil, nil)
	users := []CASubject{alice, admin, breakGlass, guest}
	for _, tc := range []struct {
		name  string
		users CAUsers
		want  []string // ids targeted
	}{
		{"all users", CAUsers{IncludeUsers: []string{"All"}}, []string{"aaaa", "bbbb", "cccc", "dddd"}},
		{"all users but break-glass", CAUsers{IncludeUsers: []string{"All"}, ExcludeUsers: []string{"CCCC"}}, []string{"aaaa", "bbbb", "dddd"}},
		{"None", CAUsers{IncludeUsers: []string{"None"}}, nil},
		{"one user", CAUsers{IncludeUsers: []string{"bbbb"}}, []string{"bbbb"}},
		{"a group", CAUsers{IncludeGroups: []string{"PILOT"}}, []string{"aaaa", "cccc"}},
		{"a group minus a role", CAUsers{IncludeGroups: []string{"pilot"}, ExcludeRoles: []string{gaRole}}, []string{"aaaa"}},
		{"a role", CAUsers{IncludeRoles: []string{gaRole}}, []string{"bbbb", "cccc"}},
		{"a role minus a group", CAUsers{IncludeRoles: []string{gaRole}, ExcludeGroups: []string{"pilot"}}, []string{"bbbb"}},
		{"all users but guests", CAUsers{IncludeUsers: []string{"All"}, ExcludeUsers: []string{"GuestsOrExternalUsers"}}, []string{"aaaa", "bbbb", "cccc"}},
		{"all users but some guests", CAUsers{IncludeUsers: []string{"All"}, ExcludeGuests: &CAGuests{Types: []string{"b2bDirectConnectUser"}}}, []string{"aaaa", "bbbb", "cccc"}},
		{"guests (legacy value)", CAUsers{IncludeUsers: []string{"GuestsOrExternalUsers"}}, []string{"dddd"}},
		{"every kind of guest", CAUsers{IncludeGuests: &CAGuests{Types: []string{"internalGuest", "b2bCollaborationGuest", "b2bDirectConnectUser"}, AllTenants: true}}, []string{"dddd"}},
		{"B2B guests of one tenant", CAUsers{IncludeGuests: &CAGuests{Types: []string{"internalGuest", "b2bCollaborationGuest"}}}, nil},
		{"only B2B collaboration guests", CAUsers{IncludeGuests: &CAGuests{Types: []string{"b2bCollaborationGuest"}, AllTenants: true}}, nil},
	} {
		p := CAPolicy{Users: tc.users}
		var got []string
		for _, u := range users {
			if p.Targets(u) {
				got = append(got, u.ID)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: targets %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A user's coverage from a tenant's policies: required by enabled ones (named), report-only when
// only those would, none otherwise; disabled policies and those limited by conditions never count;
// security defaults cover everyone.
func TestCoverage(t *testing.T) {
	all := with(allUsersMFA("CA001 All users"), func(p *CAPolicy) { p.Users.ExcludeUsers = []string{"cccc"} })
	admins := with(allUsersMFA("CA002 Admins"), func(p *CAPolicy) { p.Users = CAUsers{IncludeRoles: []string{gaRole}} })
	pilotReport := with(allUsersMFA("CA003 Pilot (report-only)"), func(p *CAPolicy) {
		p.State, p.Users = CAPolicyReportOnly, CAUsers{IncludeGroups: []string{"pilot"}}
	})
	off := with(allUsersMFA("CA004 Off"), func(p *CAPolicy) { p.State = CAPolicyDisabled })
	offsite := with(allUsersMFA("CA005 Off site"), func(p *CAPolicy) { p.Conditions.ExcludeLocations = []string{"AllTrusted"} })

	alice := subject("aaaa", false, []string{"pilot"}, nil)
	admin := subject("BBBB", false, nil, []string{gaRole})
	breakGlass := subject("cccc", false, []string{"pilot"}, []string{gaRole})
	nobody := subject("eeee", false, nil, nil)
	for _, tc := range []struct {
		name     string
		policies []CAPolicy
		defaults bool
		u        CASubject
		want     Coverage
	}{
		{"all users", []CAPolicy{all, admins}, false, alice, Coverage{Status: CARequired, Policies: []string{"CA001 All users"}}},
		{"two policies", []CAPolicy{all, admins}, false, admin, Coverage{Status: CARequired, Policies: []string{"CA001 All users", "CA002 Admins"}}},
		{"break-glass excluded from one, admin in another", []CAPolicy{all, admins}, false, breakGlass, Coverage{Status: CARequired, Policies: []string{"CA002 Admins"}}},
		{"break-glass excluded", []CAPolicy{all}, false, breakGlass, Coverage{Status: CANotRequired}},
		{"report-only", []CAPolicy{pilotReport, off}, false, alice, Coverage{Status: CAReportOnly, Policies: []string{"CA003 Pilot (report-only)"}}},
		{"enabled wins over report-only", []CAPolicy{pilotReport, all}, false, alice, Coverage{Status: CARequired, Policies: []string{"CA001 All users"}}},
		{"disabled and limited policies", []CAPolicy{off, offsite}, false, nobody, Coverage{Status: CANotRequired}},
		{"security defaults", nil, true, nobody, Coverage{Status: CANotRequired, SecurityDefaults: true}},
		{"no policies", nil, false, nobody, Coverage{Status: CANotRequired}},
	} {
		got := NewConditionalAccess(tc.policies, tc.defaults).Coverage(tc.u)
		if got.Status != tc.want.Status || !slices.Equal(got.Policies, tc.want.Policies) || got.SecurityDefaults != tc.want.SecurityDefaults {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
		if got.Covered() != (tc.want.Status == CARequired || tc.defaults) {
			t.Errorf("%s: Covered() = %v", tc.name, got.Covered())
		}
	}
	if (Coverage{}).Known() || !(Coverage{Status: CANotRequired}).Known() {
		t.Error("Known")
	}
}

func TestPolicyReport(t *testing.T) {
	p := with(allUsersMFA("CA001"), func(p *CAPolicy) {
		p.Users.ExcludeUsers, p.Users.ExcludeGroups = []string{"cccc", "dddd"}, []string{"G1"}
		p.Conditions.ExcludeLocations = []string{"AllTrusted"}
	})
	r := p.Report(func(id string) string { return map[string]string{"g1": "Break glass"}[id] })
	if r.Counts || r.WhyNot != "applies in some locations only" || r.Targets != "all users" || r.Excludes != "2 users, group Break glass" || r.StateLabel() != "On" {
		t.Errorf("%+v", r)
	}
}
