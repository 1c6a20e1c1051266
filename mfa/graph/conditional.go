package graph

import (
	"context"
	"net/url"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/mfaportal/mfaportal/mfa"
)

// Conditional Access (SPEC §11): the sync reads the tenant's policies (GET
// /v1.0/identity/conditionalAccess/policies) and security defaults (GET
// /v1.0/policies/identitySecurityDefaultsEnforcementPolicy), both with Policy.Read.All, which the
// portal needs already, into mfa.CAPolicy, and evaluates each user with mfa.ConditionalAccess
// (coverage.go). The requests are built as RequestInformation and sent through the SDK's adapter,
// which parses Graph's answer into the SDK's models: only the models sub-package is imported.

// getInfo is a GET of path under version's root (v1.0 unless beta), or of next, a whole
// @odata.nextLink, when given.
func (c *client) getInfo(beta bool, path, next string, query url.Values) *abs.RequestInformation {
	base := c.v1.GetBaseUrl()
	if beta {
		base = c.beta.GetBaseUrl()
	}
	raw := next
	if raw == "" {
		raw = base + path
		if len(query) > 0 {
			raw += "?" + strings.NewReplacer("%24", "$", "%2C", ",").Replace(query.Encode())
		}
	}
	info := abs.NewRequestInformation()
	u, _ := url.Parse(raw)
	info.SetUri(*u)
	info.Method = abs.GET
	info.Headers.TryAdd("Accept", "application/json")
	return info
}

// get sends one GET (not batched) under the pacer and retry policy and parses the answer with
// factory. One resource unit.
func (c *client) get(ctx context.Context, info func() *abs.RequestInformation, factory absser.ParsableFactory) (absser.Parsable, error) {
	var out absser.Parsable
	err := c.do(ctx, 1, 0, func(ctx context.Context) error {
		var err error
		out, err = c.v1.Send(ctx, info(), factory, errorMapping)
		return err
	})
	if err == nil && out == nil {
		return nil, &failure{msg: "an empty answer from Graph"}
	}
	return out, err
}

// readPolicies reads every Conditional Access policy (following @odata.nextLink).
func (c *client) readPolicies(ctx context.Context) ([]mfa.CAPolicy, error) {
	var out []mfa.CAPolicy
	next := ""
	for {
		v, err := c.get(ctx, func() *abs.RequestInformation {
			return c.getInfo(false, "/identity/conditionalAccess/policies", next, nil)
		},
			models.CreateConditionalAccessPolicyCollectionResponseFromDiscriminatorValue)
		if err != nil {
			return nil, err
		}
		page, ok := v.(models.ConditionalAccessPolicyCollectionResponseable)
		if !ok {
			return nil, &failure{msg: "a malformed answer to GET /identity/conditionalAccess/policies"}
		}
		for _, p := range page.GetValue() {
			if p == nil || deref(p.GetId()) == "" {
				return nil, &failure{msg: "a malformed answer to GET /identity/conditionalAccess/policies: a policy without id"}
			}
			out = append(out, policyOf(p))
		}
		if next = deref(page.GetOdataNextLink()); next == "" {
			return out, nil
		}
	}
}

// readSecurityDefaults reads whether the tenant's security defaults are on.
func (c *client) readSecurityDefaults(ctx context.Context) (bool, error) {
	v, err := c.get(ctx, func() *abs.RequestInformation {
		return c.getInfo(false, "/policies/identitySecurityDefaultsEnforcementPolicy", "", nil)
	}, models.CreateIdentitySecurityDefaultsEnforcementPolicyFromDiscriminatorValue)
	if err != nil {
		return false, err
	}
	p, ok := v.(models.IdentitySecurityDefaultsEnforcementPolicyable)
	if !ok || p.GetIsEnabled() == nil {
		return false, &failure{msg: "a malformed answer to GET /policies/identitySecurityDefaultsEnforcementPolicy: no isEnabled"}
	}
	return *p.GetIsEnabled(), nil
}

// policyOf reads a policy of the SDK's model into the domain's.
func policyOf(p models.ConditionalAccessPolicyable) mfa.CAPolicy {
	out := mfa.CAPolicy{ID: strings.ToLower(deref(p.GetId())), Name: deref(p.GetDisplayName())}
	if s := p.GetState(); s != nil {
		out.State = mfa.CAPolicyState(s.String())
	}
	if out.Name == "" {
		out.Name = out.ID
	}
	if c := p.GetConditions(); c != nil {
		out.Users = usersOf(c.GetUsers())
		out.Conditions = conditionsOf(c)
	}
	if g := p.GetGrantControls(); g != nil {
		out.Grant = mfa.CAGrant{Operator: deref(g.GetOperator()), CustomFactors: g.GetCustomAuthenticationFactors(), TermsOfUse: g.GetTermsOfUse()}
		for _, b := range g.GetBuiltInControls() {
			out.Grant.BuiltInControls = append(out.Grant.BuiltInControls, b.String())
		}
		if s := g.GetAuthenticationStrength(); s != nil {
			st := &mfa.CAStrength{ID: deref(s.GetId()), Name: deref(s.GetDisplayName())}
			if r := s.GetRequirementsSatisfied(); r != nil {
				st.RequirementsSatisfied = r.String()
			}
			out.Grant.Strength = st
		}
	}
	return out
}

func usersOf(u models.ConditionalAccessUsersable) mfa.CAUsers {
	if u == nil {
		return mfa.CAUsers{}
	}
	return mfa.CAUsers{
		IncludeUsers: u.GetIncludeUsers(), ExcludeUsers: u.GetExcludeUsers(),
		IncludeGroups: u.GetIncludeGroups(), ExcludeGroups: u.GetExcludeGroups(),
		IncludeRoles: u.GetIncludeRoles(), ExcludeRoles: u.GetExcludeRoles(),
		IncludeGuests: guestsOf(u.GetIncludeGuestsOrExternalUsers()), ExcludeGuests: guestsOf(u.GetExcludeGuestsOrExternalUsers()),
	}
}

func guestsOf(g models.ConditionalAccessGuestsOrExternalUsersable) *mfa.CAGuests {
	if g == nil {
		return nil
	}
	out := &mfa.CAGuests{AllTenants: true}
	if t := g.GetGuestOrExternalUserTypes(); t != nil {
		out.Types = strings.Split(t.String(), ",")
	}
	if ext := g.GetExternalTenants(); ext != nil {
		if k := ext.GetMembershipKind(); k != nil {
			out.AllTenants = k.String() == "all"
		}
	}
	return out
}

func conditionsOf(c models.ConditionalAccessConditionSetable) mfa.CAConditions {
	var out mfa.CAConditions
	if a := c.GetApplications(); a != nil {
		out.IncludeApplications, out.ExcludeApplications, out.IncludeUserActions = a.GetIncludeApplications(), a.GetExcludeApplications(), a.GetIncludeUserActions()
		if len(a.GetIncludeAuthenticationContextClassReferences()) > 0 || a.GetApplicationFilter() != nil {
			out.ExcludeApplications = append(out.ExcludeApplications, "(application filter or authentication context)")
		}
	}
	for _, t := range c.GetClientAppTypes() {
		out.ClientAppTypes = append(out.ClientAppTypes, t.String())
	}
	if p := c.GetPlatforms(); p != nil {
		for _, x := range p.GetIncludePlatforms() {
			out.IncludePlatforms = append(out.IncludePlatforms, x.String())
		}
		for _, x := range p.GetExcludePlatforms() {
			out.ExcludePlatforms = append(out.ExcludePlatforms, x.String())
		}
	}
	if l := c.GetLocations(); l != nil {
		out.IncludeLocations, out.ExcludeLocations = l.GetIncludeLocations(), l.GetExcludeLocations()
	}
	for _, r := range c.GetSignInRiskLevels() {
		out.SignInRiskLevels = append(out.SignInRiskLevels, r.String())
	}
	for _, r := range c.GetUserRiskLevels() {
		out.UserRiskLevels = append(out.UserRiskLevels, r.String())
	}
	for _, r := range c.GetServicePrincipalRiskLevels() {
		out.ServicePrincipalRiskLevels = append(out.ServicePrincipalRiskLevels, r.String())
	}
	if r := c.GetInsiderRiskLevels(); r != nil {
		out.InsiderRiskLevels = r.String()
	}
	out.DeviceFilter = c.GetDevices() != nil && c.GetDevices().GetDeviceFilter() != nil
	out.AuthenticationFlows = c.GetAuthenticationFlows() != nil && c.GetAuthenticationFlows().GetTransferMethods() != nil
	if ca := c.GetClientApplications(); ca != nil {
		out.ClientApplications = len(ca.GetIncludeServicePrincipals()) > 0 || ca.GetServicePrincipalFilter() != nil
	}
	return out
}
