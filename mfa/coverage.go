package mfa

import (
	"strconv"
	"strings"
	"time"
)

// CAStatus is what Conditional Access requires of a user (SPEC §11), as the API spells it.
type CAStatus string

// The statuses of a user's Conditional Access coverage.
const (
	// CARequired: an enabled policy requires MFA at every sign-in of the user to every cloud app
	// (CAPolicy.RequiresMFA, CAPolicy.Targets).
	CARequired CAStatus = "required"
	// CAReportOnly: no enabled policy does, but a report-only one would.
	CAReportOnly CAStatus = "reportOnly"
	// CANotRequired: neither (the API's "none").
	CANotRequired CAStatus = "none"
)

// Label is the status as the pages show it.
func (s CAStatus) Label() string {
	switch s {
	case CARequired:
		return "Required by Conditional Access"
	case CAReportOnly:
		return "Report-only"
	case CANotRequired:
		return "Not required"
	}
	return ""
}

// Coverage is whether something other than per-user MFA requires a user's MFA: Conditional Access
// policies (Status, and the names of the policies that do, or of the report-only ones that would)
// or the tenant's security defaults. The zero value is "not known": the embedded directory has no
// Conditional Access, and a Graph user is known once a sync evaluated the policies.
type Coverage struct {
	Status           CAStatus
	Policies         []string
	SecurityDefaults bool
}

// Known reports whether the coverage was evaluated.
func (c Coverage) Known() bool { return c.Status != "" }

// Covered reports whether the user's MFA is required without per-user MFA: by an enabled
// Conditional Access policy or by security defaults. Microsoft's guidance for such users is not to
// enable per-user MFA and to move those in it to Conditional Access (seeds/003: "You shouldn't
// enable or enforce users if you're using Conditional Access policies").
func (c Coverage) Covered() bool { return c.Status == CARequired || c.SecurityDefaults }

// ConditionalAccess evaluates the coverage of users against a tenant's policies and security
// defaults. Build it once per sync with NewConditionalAccess.
type ConditionalAccess struct {
	securityDefaults bool
	enforced         []*CAPolicy // enabled, requiring MFA
	reportOnly       []*CAPolicy // report-only, requiring MFA
}

// NewConditionalAccess prepares the evaluation of policies (in Graph's order, which the policy
// names keep) with the security defaults' isEnabled.
func NewConditionalAccess(policies []CAPolicy, securityDefaults bool) *ConditionalAccess {
	ca := &ConditionalAccess{securityDefaults: securityDefaults}
	for i := range policies {
		p := &policies[i]
		if ok, _ := p.RequiresMFA(); !ok {
			continue
		}
		switch p.State {
		case CAPolicyEnabled:
			ca.enforced = append(ca.enforced, p)
		case CAPolicyReportOnly:
			ca.reportOnly = append(ca.reportOnly, p)
		}
	}
	return ca
}

// Coverage is the user's coverage: required with the enabled policies that require MFA of them;
// otherwise report-only with the report-only policies that would; otherwise none. Security
// defaults, when on, cover every user (Entra's security defaults require every user to register
// for MFA and to do MFA when Microsoft deems it necessary, administrators at every sign-in;
// learn.microsoft.com/entra/fundamentals/security-defaults): the portal counts them as covered,
// as the issue asks, and shows them apart (SecurityDefaults).
func (ca *ConditionalAccess) Coverage(u CASubject) Coverage {
	u.ID = strings.ToLower(u.ID)
	out := Coverage{Status: CANotRequired, SecurityDefaults: ca.securityDefaults}
	for _, p := range ca.enforced {
		if p.Targets(u) {
			out.Status, out.Policies = CARequired, append(out.Policies, p.Name)
		}
	}
	if out.Status == CARequired {
		return out
	}
	for _, p := range ca.reportOnly {
		if p.Targets(u) {
			out.Status, out.Policies = CAReportOnly, append(out.Policies, p.Name)
		}
	}
	return out
}

// CAPolicyReport is one policy as the move to Conditional Access page lists it: its state, whether
// it requires MFA at every sign-in (CAPolicy.RequiresMFA) and why not.
type CAPolicyReport struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	State    CAPolicyState `json:"state"`
	Counts   bool          `json:"counts"`
	WhyNot   string        `json:"whyNot,omitempty"`
	Targets  string        `json:"targets"`
	Excludes string        `json:"excludes,omitempty"`
}

// StateLabel is the policy's state as Entra's admin center names it.
func (r CAPolicyReport) StateLabel() string {
	switch r.State {
	case CAPolicyEnabled:
		return "On"
	case CAPolicyDisabled:
		return "Off"
	case CAPolicyReportOnly:
		return "Report-only"
	}
	return string(r.State)
}

// Report describes the policy for the page; names maps group and role ids to their names where the
// directory knows them.
func (p *CAPolicy) Report(names func(id string) string) CAPolicyReport {
	r := CAPolicyReport{ID: p.ID, Name: p.Name, State: p.State}
	r.Counts, r.WhyNot = p.RequiresMFA()
	r.Targets = describeUsers(p.Users.IncludeUsers, p.Users.IncludeGroups, p.Users.IncludeRoles, p.Users.IncludeGuests != nil, names)
	r.Excludes = describeUsers(p.Users.ExcludeUsers, p.Users.ExcludeGroups, p.Users.ExcludeRoles, p.Users.ExcludeGuests != nil, names)
	return r
}

func describeUsers(users, groups, roles []string, guests bool, names func(string) string) string {
	var parts []string
	n := 0
	for _, u := range users {
		switch {
		case strings.EqualFold(u, CAAll):
			parts = append(parts, "all users")
		case strings.EqualFold(u, CAGuestsOrExternalUsers):
			parts = append(parts, "guests and external users")
		case strings.EqualFold(u, CANone):
		default:
			n++
		}
	}
	if n > 0 {
		parts = append(parts, plural(n, "user", "users"))
	}
	if guests {
		parts = append(parts, "some guests or external users")
	}
	for _, list := range []struct {
		ids  []string
		kind string
	}{{groups, "group"}, {roles, "role"}} {
		for _, id := range list.ids {
			name := ""
			if names != nil {
				name = names(strings.ToLower(id))
			}
			if name == "" {
				name = id
			}
			parts = append(parts, list.kind+" "+name)
		}
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// ConditionalAccessSummary is what the last sync learnt of the tenant's Conditional Access, for the
// move to Conditional Access page and the sync status: the policies, the security defaults, where
// registration was read from, and what could not be read.
type ConditionalAccessSummary struct {
	ReadAt           time.Time        `json:"readAt"`
	Read             bool             `json:"read"` // policies read and evaluated for every user
	Problem          string           `json:"problem,omitempty"`
	SecurityDefaults bool             `json:"securityDefaults"`
	Policies         []CAPolicyReport `json:"policies"`
	// RegistrationReport says registered methods came from the registration report
	// (userRegistrationDetails) in one paged read; otherwise from each user's methods, and
	// RegistrationNote says why (no licence, no permission).
	RegistrationReport bool   `json:"registrationReport"`
	RegistrationNote   string `json:"registrationNote,omitempty"`
}
