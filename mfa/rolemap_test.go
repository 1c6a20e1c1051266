package mfa

import (
	"strings"
	"testing"
)

func TestEntraRoleMapResolvesEachRole(t *testing.T) {
	m := EntraRoleMap()
	for wid, want := range map[string]Role{
		"62e90394-69f5-4237-9190-012177145e10": RoleGlobalAdmin,
		"7be44c8a-adaf-4e2a-84d6-ab2649e08a13": RoleAuthAdmin,
		"c4e39bd9-1100-46d3-8c65-fb160da0071f": RoleAuthAdmin,
		"729827e3-9c14-49f7-bb1b-9608f156bbb8": RoleHelpdesk,
		"f2ef992c-3afb-46b9-b7cf-a126ee74c451": RoleReader,
	} {
		if got, ok := m.Resolve([]string{"b79fbf4d-3ef9-4689-8143-76b194e85509", wid}); !ok || got != want {
			t.Errorf("%s: %q %v, want %s", wid, got, ok, want)
		}
	}
	// Several roles: the strongest wins, whatever the order.
	if got, _ := m.Resolve([]string{EntraGlobalReader, EntraHelpdeskAdministrator, EntraAuthenticationAdministrator}); got != RoleAuthAdmin {
		t.Errorf("several roles: %s", got)
	}
	if got, _ := m.Resolve([]string{EntraGlobalReader, EntraGlobalAdministrator}); got != RoleGlobalAdmin {
		t.Errorf("several roles: %s", got)
	}
	// No match, no values, a different case: no access.
	for _, values := range [][]string{nil, {}, {"b79fbf4d-3ef9-4689-8143-76b194e85509"}, {strings.ToUpper(EntraGlobalAdministrator)}, {""}} {
		if r, ok := m.Resolve(values); ok || r != "" {
			t.Errorf("%q: %q %v", values, r, ok)
		}
	}
}

func TestParseRoleMap(t *testing.T) {
	m, err := ParseRoleMap(" MFA.Admins = global-admin, MFA.Helpdesk=HELPDESK,,cn=readers=reader ")
	if err != nil {
		t.Fatal(err)
	}
	want := RoleMap{"MFA.Admins": RoleGlobalAdmin, "MFA.Helpdesk": RoleHelpdesk, "cn=readers": RoleReader}
	if m.String() != want.String() {
		t.Fatalf("got %s, want %s", m, want)
	}
	if m, err := ParseRoleMap(""); err != nil || len(m) != 0 {
		t.Fatalf("empty: %v %v", m, err)
	}
	for in, msg := range map[string]string{
		"admins":                     "expected value=role",
		"=global-admin":              "expected value=role",
		"admins=root":                "unknown role",
		"a=reader,a=global-admin":    "mapped twice",
		"a=reader,b=helpdesk,c=king": `"c=king"`,
	} {
		if _, err := ParseRoleMap(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", in, err, msg)
		}
	}
	// A configured map extends the Entra defaults; a configured value wins.
	merged := EntraRoleMap().With(RoleMap{"MFA.Admins": RoleGlobalAdmin, EntraGlobalReader: RoleHelpdesk})
	if merged["MFA.Admins"] != RoleGlobalAdmin || merged[EntraGlobalReader] != RoleHelpdesk || merged[EntraGlobalAdministrator] != RoleGlobalAdmin {
		t.Fatalf("merged: %s", merged)
	}
	if EntraRoleMap()[EntraGlobalReader] != RoleReader {
		t.Fatal("With changed the defaults")
	}
}
