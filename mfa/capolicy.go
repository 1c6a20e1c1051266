package mfa

import (
	"slices"
	"strings"
)

// Conditional Access (SPEC §11): Microsoft recommends it over per-user MFA, and users it covers may
// appear Disabled on the per-user page. A CAPolicy is a Conditional Access policy as read from
// Microsoft Graph (conditionalAccessPolicy, v1.0), reduced to what decides whether it requires MFA
// at every sign-in of the users it targets. The sources of each rule are pages of
// github.com/microsoftgraph/microsoft-graph-docs-contrib (api-reference/v1.0/resources) and of
// learn.microsoft.com/entra/identity/conditional-access.

// CAPolicyState is a policy's state (conditionalAccessPolicy.state).
type CAPolicyState string

// The policy states Graph documents.
const (
	CAPolicyEnabled    CAPolicyState = "enabled"
	CAPolicyDisabled   CAPolicyState = "disabled"
	CAPolicyReportOnly CAPolicyState = "enabledForReportingButNotEnforced"
)

// Special values of the users and applications of a policy (conditionalaccessusers.md,
// conditionalaccessapplications.md).
const (
	CAAll                    = "All"
	CANone                   = "None"
	CAGuestsOrExternalUsers  = "GuestsOrExternalUsers"
	caBuiltInMFA             = "mfa"
	caStrengthSatisfiesMFA   = "mfa"
	caOperatorAnd            = "AND"
	caGuestTypeInternal      = "internalGuest"
	caGuestTypeB2BCollab     = "b2bCollaborationGuest"
	caExternalTenantsAllKind = "all"
)

// CAUsers are the users, groups and roles a policy includes and excludes (conditionalAccessUsers).
// Roles are directory role template ids. IncludeGuests and ExcludeGuests are
// includeGuestsOrExternalUsers and excludeGuestsOrExternalUsers; nil when not set.
type CAUsers struct {
	IncludeUsers, ExcludeUsers   []string
	IncludeGroups, ExcludeGroups []string
	IncludeRoles, ExcludeRoles   []string
	IncludeGuests, ExcludeGuests *CAGuests
}

// CAGuests is a conditionalAccessGuestsOrExternalUsers: the kinds of guests (guestOrExternalUserTypes,
// e.g. "internalGuest,b2bCollaborationGuest") and whether every external tenant is meant
// (externalTenants membershipKind "all", or not given).
type CAGuests struct {
	Types      []string
	AllTenants bool
}

// CAConditions are the conditions that limit when a policy applies (conditionalAccessConditionSet).
// Each field is as Graph gives it; empty means the condition is not set.
type CAConditions struct {
	IncludeApplications, ExcludeApplications []string
	IncludeUserActions                       []string // e.g. urn:user:registersecurityinfo
	ClientAppTypes                           []string // all, browser, mobileAppsAndDesktopClients, ...
	IncludePlatforms, ExcludePlatforms       []string
	IncludeLocations, ExcludeLocations       []string
	SignInRiskLevels, UserRiskLevels         []string
	ServicePrincipalRiskLevels               []string
	InsiderRiskLevels                        string
	DeviceFilter                             bool // devices.deviceFilter is set
	AuthenticationFlows                      bool // authenticationFlows.transferMethods is set
	ClientApplications                       bool // the policy targets workload identities
}

// CAGrant are a policy's grant controls (conditionalAccessGrantControls).
type CAGrant struct {
	Operator        string   // "AND" or "OR"
	BuiltInControls []string // block, mfa, compliantDevice, domainJoinedDevice, ...
	CustomFactors   []string
	TermsOfUse      []string
	// Strength is the authentication strength required, nil when none.
	Strength *CAStrength
}

// CAStrength is an authentication strength (authenticationStrengthPolicy) a policy requires.
// RequirementsSatisfied is "mfa" for a strength that grants the MFA claim.
type CAStrength struct {
	ID, Name              string
	RequirementsSatisfied string
}

// The built-in authentication strengths (authenticationstrengthpolicy.md, policyType builtIn): all
// three satisfy MFA.
var builtInStrengths = []string{
	"00000000-0000-0000-0000-000000000002", // Multifactor authentication
	"00000000-0000-0000-0000-000000000003", // Passwordless MFA
	"00000000-0000-0000-0000-000000000004", // Phishing-resistant MFA
}

// CAPolicy is a Conditional Access policy.
type CAPolicy struct {
	ID, Name   string
	State      CAPolicyState
	Users      CAUsers
	Conditions CAConditions
	Grant      CAGrant
}

// RequiresMFA says whether the policy, when it applies to a user, requires MFA at every sign-in
// of that user to every cloud app (whatever its state), and if not, why not. This is the portal's
// rule, stricter than "the policy mentions MFA", because an admin will disable per-user MFA on its
// strength:
//   - the grant requires MFA: the built-in control mfa or an authentication strength that
//     satisfies MFA (requirementsSatisfied "mfa", or a built-in strength), joined by AND to any
//     other control, or the only kind of control with OR — with OR, a compliant device, an approved
//     app, terms of use or a custom control would let a sign-in through without MFA; block is not
//     MFA;
//   - all cloud apps: includeApplications ["All"] and no excluded app ("All resources"); user
//     actions (registering security info) are not sign-ins;
//   - no condition narrows it: every client app type (clientAppTypes empty or "all"), every
//     platform, every location (a policy that excludes trusted locations skips MFA on the office
//     network), no sign-in, user, service-principal or insider risk level (those apply only to risky
//     sign-ins), no device filter, no authentication flow. Such a policy protects some sign-ins
//     only: the user may still sign in without MFA, so it does not count.
//
// Sources: conditionalaccessgrantcontrols.md (operator, builtInControls), authenticationstrength
// policy.md (requirementsSatisfied), conditionalaccessapplications.md, conditionalaccessconditionset
// .md, and Entra's "Conditional Access: conditions" and "Building a Conditional Access policy" pages.
func (p *CAPolicy) RequiresMFA() (bool, string) {
	if ok, why := p.Grant.requiresMFA(); !ok {
		return false, why
	}
	c := &p.Conditions
	switch {
	case c.ClientApplications:
		return false, "targets workload identities, not users"
	case !hasFold(c.IncludeApplications, CAAll):
		if len(c.IncludeUserActions) > 0 {
			return false, "applies to a user action, not to sign-ins"
		}
		return false, "applies to some cloud apps only"
	case len(c.ExcludeApplications) > 0:
		return false, "excludes some cloud apps"
	case len(c.ClientAppTypes) > 0 && !hasFold(c.ClientAppTypes, "all"):
		return false, "applies to some client apps only (" + strings.Join(c.ClientAppTypes, ", ") + ")"
	case len(c.IncludePlatforms) > 0 && !hasFold(c.IncludePlatforms, "all") || len(c.ExcludePlatforms) > 0:
		return false, "applies to some device platforms only"
	case len(c.IncludeLocations) > 0 && !hasFold(c.IncludeLocations, CAAll) || len(c.ExcludeLocations) > 0:
		return false, "applies in some locations only"
	case len(c.SignInRiskLevels) > 0 || len(c.UserRiskLevels) > 0 || len(c.ServicePrincipalRiskLevels) > 0 || c.InsiderRiskLevels != "":
		return false, "applies to risky sign-ins or users only"
	case c.DeviceFilter:
		return false, "applies to some devices only (device filter)"
	case c.AuthenticationFlows:
		return false, "applies to some authentication flows only"
	}
	return true, ""
}

// requiresMFA is the grant's part of RequiresMFA.
func (g *CAGrant) requiresMFA() (bool, string) {
	if hasFold(g.BuiltInControls, "block") {
		return false, "blocks access instead of requiring MFA"
	}
	mfa := hasFold(g.BuiltInControls, caBuiltInMFA)
	strength := false
	if s := g.Strength; s != nil {
		strength = strings.EqualFold(s.RequirementsSatisfied, caStrengthSatisfiesMFA) ||
			s.RequirementsSatisfied == "" && slices.Contains(builtInStrengths, strings.ToLower(s.ID))
	}
	if !mfa && !strength {
		if g.Strength != nil {
			return false, "requires an authentication strength that does not satisfy MFA"
		}
		return false, "does not require MFA"
	}
	if strings.EqualFold(g.Operator, caOperatorAnd) {
		return true, ""
	}
	others := len(g.CustomFactors) + len(g.TermsOfUse)
	for _, c := range g.BuiltInControls {
		if !strings.EqualFold(c, caBuiltInMFA) {
			others++
		}
	}
	if g.Strength != nil && !strength {
		others++
	}
	if others > 0 {
		return false, "requires MFA or another control (OR): a sign-in may satisfy the other one"
	}
	return true, ""
}

// CASubject is a user as a policy's users condition sees them: id (Graph object id), whether a
// guest (userType Guest), and membership of groups (transitively) and directory roles (by template
// id), as functions of the id compared in lower case.
type CASubject struct {
	ID      string
	Guest   bool
	InGroup func(groupID string) bool
	HasRole func(roleTemplateID string) bool
}

// Targets reports whether the policy's users condition includes the user and does not exclude
// them. Exclusions win over inclusions (conditionalaccessusers.md: "unless explicitly excluded").
// Guests: "GuestsOrExternalUsers" in includeUsers includes every guest, includeGuestsOrExternalUsers
// only when it names both internalGuest and b2bCollaborationGuest for all external tenants (the
// portal reads userType only, not which kind of guest: a narrower inclusion is not counted); any
// exclusion of guests or external users excludes every guest. Members are never matched by the
// guest conditions.
func (p *CAPolicy) Targets(u CASubject) bool {
	return p.Users.includes(u) && !p.Users.excludes(u)
}

func (c *CAUsers) includes(u CASubject) bool {
	if hasFold(c.IncludeUsers, CAAll) || hasFold(c.IncludeUsers, u.ID) {
		return true
	}
	if u.Guest && (hasFold(c.IncludeUsers, CAGuestsOrExternalUsers) || c.IncludeGuests.allGuests()) {
		return true
	}
	return anyOf(c.IncludeGroups, u.InGroup) || anyOf(c.IncludeRoles, u.HasRole)
}

func (c *CAUsers) excludes(u CASubject) bool {
	if hasFold(c.ExcludeUsers, u.ID) {
		return true
	}
	if u.Guest && (hasFold(c.ExcludeUsers, CAGuestsOrExternalUsers) || c.ExcludeGuests != nil) {
		return true
	}
	return anyOf(c.ExcludeGroups, u.InGroup) || anyOf(c.ExcludeRoles, u.HasRole)
}

// allGuests reports whether the guests condition takes in every guest in the tenant.
func (g *CAGuests) allGuests() bool {
	return g != nil && g.AllTenants && hasFold(g.Types, caGuestTypeInternal) && hasFold(g.Types, caGuestTypeB2BCollab)
}

func anyOf(ids []string, member func(string) bool) bool {
	if member == nil {
		return false
	}
	for _, id := range ids {
		if member(strings.ToLower(id)) {
			return true
		}
	}
	return false
}

func hasFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// Groups lists the groups a policy includes or excludes (lower case): those whose members the
// directory must read to evaluate it.
func (p *CAPolicy) Groups() []string {
	var out []string
	for _, g := range slices.Concat(p.Users.IncludeGroups, p.Users.ExcludeGroups) {
		out = append(out, strings.ToLower(g))
	}
	return out
}
