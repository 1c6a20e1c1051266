package mfa

import (
	"strings"
	"testing"
)

// Values with commas (LDAP-style group names from Keycloak, ADFS or Dex) are written quoted, or as
// a JSON object.
func TestRoleMapValuesWithCommas(t *testing.T) {
	want := RoleMap{"CN=MFA Admins,OU=Groups,DC=contoso": RoleGlobalAdmin, "helpdesk": RoleHelpdesk, `say "hi"`: RoleReader}
	for _, in := range []string{
		`"CN=MFA Admins,OU=Groups,DC=contoso"=global-admin, helpdesk=helpdesk,"say ""hi"""=reader`,
		` "CN=MFA Admins,OU=Groups,DC=contoso" = Global-Admin ,helpdesk=helpdesk, "say ""hi""" =reader,`,
		`{"CN=MFA Admins,OU=Groups,DC=contoso": "global-admin", "helpdesk": "helpdesk", "say \"hi\"": "reader"}`,
	} {
		m, err := ParseRoleMap(in)
		if err != nil || len(m) != len(want) {
			t.Fatalf("%s: %v %v", in, m, err)
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s: %q = %q, want %q", in, k, m[k], v)
			}
		}
		// String writes it back so that it reads the same.
		if again, err := ParseRoleMap(m.String()); err != nil || again.String() != m.String() {
			t.Errorf("round trip of %q: %q %v", m.String(), again.String(), err)
		}
	}
	for in, msg := range map[string]string{
		`"CN=A,OU=B=global-admin`:     "not closed",
		`"CN=A,OU=B" global-admin`:    "expected =role",
		`{"CN=A": "owner"}`:           "unknown role",
		`{"CN=A": 1}`:                 "JSON object",
		`"a,b"=reader,"a,b"=helpdesk`: "mapped twice",
		`=reader`:                     "expected value=role",
	} {
		if _, err := ParseRoleMap(in); err == nil || !strings.Contains(ErrorMessage(err), msg) {
			t.Errorf("%s: %v, want %q", in, err, msg)
		}
	}
}
