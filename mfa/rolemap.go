package mfa

import (
	"maps"
	"slices"
	"strings"
)

// RoleMap maps the values of an identity provider's claim (Entra role template ids, app roles,
// group ids or names) to the portal's roles (SPEC §3). Values are matched exactly.
type RoleMap map[string]Role

// Entra ID's built-in role template ids, as found in a token's wids claim.
const (
	EntraGlobalAdministrator                   = "62e90394-69f5-4237-9190-012177145e10"
	EntraPrivilegedAuthenticationAdministrator = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
	EntraAuthenticationAdministrator           = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	EntraHelpdeskAdministrator                 = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	EntraGlobalReader                          = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
)

// EntraRoleMap returns SPEC §3's map of Entra ID role template ids (the wids claim) to roles: the
// map every configured one starts from.
func EntraRoleMap() RoleMap {
	return RoleMap{
		EntraGlobalAdministrator:                   RoleGlobalAdmin,
		EntraPrivilegedAuthenticationAdministrator: RoleAuthAdmin,
		EntraAuthenticationAdministrator:           RoleAuthAdmin,
		EntraHelpdeskAdministrator:                 RoleHelpdesk,
		EntraGlobalReader:                          RoleReader,
	}
}

// ParseRoleMap reads "value=role,value=role" (spaces around items ignored; a value may itself
// contain "=", the last one separates the role). An empty string is an empty map.
func ParseRoleMap(s string) (RoleMap, error) {
	m := RoleMap{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		i := strings.LastIndex(item, "=")
		if i <= 0 {
			return nil, Errorf(EINVALID, "role map item %q: expected value=role, e.g. MFA.Admins=global-admin", truncate(item, 80))
		}
		value, roleName := strings.TrimSpace(item[:i]), strings.TrimSpace(item[i+1:])
		role, err := ParseRole(roleName)
		if err != nil {
			return nil, Errorf(EINVALID, "role map item %q: %s", truncate(item, 80), ErrorMessage(err))
		}
		if prev, dup := m[value]; dup && prev != role {
			return nil, Errorf(EINVALID, "role map: %q is mapped twice (to %s and %s)", truncate(value, 80), prev, role)
		}
		m[value] = role
	}
	return m, nil
}

// With returns a copy of m with the entries of other added (other wins for a value in both).
func (m RoleMap) With(other RoleMap) RoleMap {
	out := maps.Clone(m)
	if out == nil {
		out = RoleMap{}
	}
	maps.Copy(out, other)
	return out
}

// Resolve returns the strongest role (Role.Rank) that any of the claim's values maps to, and
// false when none does: such a person gets no access.
func (m RoleMap) Resolve(values []string) (Role, bool) {
	var best Role
	for _, v := range values {
		if r, ok := m[v]; ok && r.Rank() > best.Rank() {
			best = r
		}
	}
	return best, best.Rank() > 0
}

// String writes the map back as "value=role,..." sorted by value.
func (m RoleMap) String() string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + string(m[k])
	}
	return strings.Join(parts, ",")
}
