package mfa

import (
	"encoding/json"
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

// ParseRoleMap reads a role map in one of two forms. The list "value=role,value=role": spaces
// around items are ignored, a value may contain "=" (the last one separates the role), and a value
// with commas is quoted, "CN=MFA Admins,OU=Groups"=global-admin (a quote inside doubled). Or a
// JSON object, {"CN=MFA Admins,OU=Groups": "global-admin"}. An empty string is an empty map.
func ParseRoleMap(s string) (RoleMap, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		return parseRoleMapJSON(s)
	}
	items, err := splitRoleMap(s)
	if err != nil {
		return nil, err
	}
	m := RoleMap{}
	for _, it := range items {
		if err := m.add(it.value, it.role, it.text); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// parseRoleMapJSON reads the JSON form.
func parseRoleMapJSON(s string) (RoleMap, error) {
	var raw map[string]string
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, Errorf(EINVALID, "the role map is not a JSON object of value → role strings: %v", err)
	}
	m := RoleMap{}
	for value, role := range raw {
		if err := m.add(value, role, value+"="+role); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// add puts one item into the map, refusing an unknown role and a value mapped twice.
func (m RoleMap) add(value, roleName, item string) error {
	if value == "" {
		return Errorf(EINVALID, "role map item %q: expected value=role, e.g. MFA.Admins=global-admin", truncate(item, 80))
	}
	role, err := ParseRole(roleName)
	if err != nil {
		return Errorf(EINVALID, "role map item %q: %s", truncate(item, 80), ErrorMessage(err))
	}
	if prev, dup := m[value]; dup && prev != role {
		return Errorf(EINVALID, "role map: %q is mapped twice (to %s and %s)", truncate(value, 80), prev, role)
	}
	m[value] = role
	return nil
}

type roleMapItem struct{ value, role, text string }

// splitRoleMap splits the list form at commas outside quotes and each item at its last "=" (after
// a quoted value, the "=" that follows it).
func splitRoleMap(s string) ([]roleMapItem, error) {
	var items []roleMapItem
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t")
		var it roleMapItem
		if strings.HasPrefix(s, `"`) {
			value, rest, ok := unquote(s)
			if !ok {
				return nil, Errorf(EINVALID, "role map item %q: a quote is not closed", truncate(s, 80))
			}
			rest = strings.TrimLeft(rest, " \t")
			if !strings.HasPrefix(rest, "=") {
				return nil, Errorf(EINVALID, "role map item %q: expected =role after the quoted value", truncate(s, 80))
			}
			role, after, _ := strings.Cut(rest[1:], ",")
			it = roleMapItem{value: value, role: strings.TrimSpace(role), text: strings.TrimSpace(s[:len(s)-len(after)])}
			s = after
		} else {
			text, after, _ := strings.Cut(s, ",")
			s = after
			text = strings.TrimSpace(text)
			if text == "" {
				continue
			}
			i := strings.LastIndex(text, "=")
			if i < 0 {
				i = 0
			}
			it = roleMapItem{value: strings.TrimSpace(text[:i]), role: strings.TrimSpace(text[min(i+1, len(text)):]), text: text}
		}
		items = append(items, it)
	}
	return items, nil
}

// unquote reads a quoted value at the start of s (inner quotes doubled) and returns the rest.
func unquote(s string) (value, rest string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '"' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '"' {
			b.WriteByte('"')
			i++
			continue
		}
		return b.String(), s[i+1:], true
	}
	return "", "", false
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
		if strings.ContainsAny(k, `,"`) || strings.TrimSpace(k) != k {
			k = `"` + strings.ReplaceAll(k, `"`, `""`) + `"`
		}
		parts[i] = k + "=" + string(m[keys[i]])
	}
	return strings.Join(parts, ",")
}
