package graphemu

import (
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// The activated roles: Global Administrator by default, in Graph's collection shape.
func TestListDirectoryRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 10})
	r := e.call("GET", "/v1.0/directoryRoles", nil)
	e.mustStatus(r, 200)
	if got, want := r.body["@odata.context"], e.base+"/v1.0/$metadata#directoryRoles"; got != want {
		t.Errorf("@odata.context = %v, want %v", got, want)
	}
	roles := r.body["value"].([]any)
	if len(roles) != 1 {
		t.Fatalf("%d roles, want Global Administrator only: %s", len(roles), r.raw)
	}
	ga := roles[0].(map[string]any)
	if ga["displayName"] != "Global Administrator" || ga["roleTemplateId"] != GlobalAdministratorTemplateID || ga["id"] != e.srv.DirectoryRoleID(GlobalAdministratorTemplateID) {
		t.Errorf("role: %v", ga)
	}
	if r.header.Get("x-ms-resource-unit") != "1" {
		t.Errorf("cost %q, want 1", r.header.Get("x-ms-resource-unit"))
	}
	// By id and by template id.
	e.mustStatus(e.call("GET", "/v1.0/directoryRoles/"+ga["id"].(string), nil), 200)
	e.mustStatus(e.call("GET", "/v1.0/directoryRoles/roleTemplateId="+GlobalAdministratorTemplateID, nil), 200)
	r = e.call("GET", "/v1.0/directoryRoles/00000000-0000-0000-0000-000000000000/members", nil)
	e.mustStatus(r, 404)
	if code := graphErrorCode(t, r); code != "Request_ResourceNotFound" {
		t.Errorf("code %q", code)
	}
	e.mustStatus(e.call("POST", "/v1.0/directoryRoles", map[string]any{}), 405)

	// Another role activated when a member is added to it.
	if err := e.srv.SetRoleMember(AuthenticationAdministratorTemplateID, e.srv.UserIDs()[0], true); err != nil {
		t.Fatal(err)
	}
	r = e.call("GET", "/v1.0/directoryRoles", nil)
	if n := len(r.body["value"].([]any)); n != 2 {
		t.Errorf("%d roles after activating one, want 2", n)
	}
}

// Members are seeded from the demo's Privileged flag, paged with @odata.nextLink, users with their
// @odata.type and the selected properties only.
func TestRoleMembersPagingAndSelect(t *testing.T) {
	t.Parallel()
	const n = 3000
	e := newEnv(t, Options{Users: n})
	want := map[string]bool{}
	for u := range mfa.DemoUsers(n) {
		if u.Privileged {
			want[mfa.NormalizeUPN(u.UPN)] = true
		}
	}
	if len(want) < 20 {
		t.Fatalf("only %d privileged demo users", len(want))
	}
	id := e.srv.DirectoryRoleID(GlobalAdministratorTemplateID)
	next := e.base + "/v1.0/directoryRoles/" + id + "/members?$select=id,userPrincipalName&$top=10"
	got := map[string]bool{}
	pages := 0
	for next != "" {
		r := e.call("GET", next, nil)
		e.mustStatus(r, 200)
		pages++
		if c, w := r.body["@odata.context"], e.base+"/v1.0/$metadata#directoryObjects(id,userPrincipalName)"; c != w {
			t.Errorf("@odata.context = %v, want %v", c, w)
		}
		for _, v := range r.body["value"].([]any) {
			m := v.(map[string]any)
			if m["@odata.type"] != "#microsoft.graph.user" || len(m) != 3 {
				t.Fatalf("member %v: want @odata.type, id and userPrincipalName", m)
			}
			upn := mfa.NormalizeUPN(m["userPrincipalName"].(string))
			if got[upn] {
				t.Fatalf("%s listed twice", upn)
			}
			got[upn] = true
			if u, _ := e.srv.User(m["id"].(string)); !u.Privileged || mfa.NormalizeUPN(u.UPN) != upn {
				t.Errorf("member %v: emulator user %+v", m, u)
			}
		}
		next, _ = r.body["@odata.nextLink"].(string)
		if next != "" && (!strings.HasPrefix(next, e.base+"/v1.0/directoryRoles/"+id+"/members?") || !strings.Contains(next, "$skiptoken=")) {
			t.Fatalf("nextLink %q", next)
		}
		if pages > 100 {
			t.Fatal("paging does not end")
		}
	}
	if len(got) != len(want) || pages != (len(want)+9)/10 {
		t.Errorf("%d members in %d pages, want %d", len(got), pages, len(want))
	}
	for upn := range want {
		if !got[upn] {
			t.Errorf("%s missing", upn)
		}
	}

	// Removed, added, deleted.
	var first string
	for upn := range want {
		first = upn
		break
	}
	if err := e.srv.SetPrivileged(first, false); err != nil || e.srv.Privileged(first) {
		t.Fatalf("SetPrivileged false: %v", err)
	}
	plain := e.srv.UserIDs()[0]
	if e.srv.Privileged(plain) {
		plain = e.srv.UserIDs()[1]
	}
	if err := e.srv.SetPrivileged(plain, true); err != nil || !e.srv.Privileged(plain) {
		t.Fatalf("SetPrivileged true: %v", err)
	}
	r := e.call("GET", "/v1.0/directoryRoles/roleTemplateId="+GlobalAdministratorTemplateID+"/members?$top=999", nil)
	e.mustStatus(r, 200)
	ids := map[string]bool{}
	for _, v := range r.body["value"].([]any) {
		m := v.(map[string]any)
		ids[m["id"].(string)] = true
		if _, ok := m["displayName"]; !ok {
			t.Fatalf("without $select a member has the default user properties: %v", m)
		}
	}
	fu, _ := e.srv.User(first)
	if ids[fu.ID] || !ids[plain] || len(ids) != len(want) {
		t.Errorf("after the changes: %d members, removed one listed %v, added one listed %v", len(ids), ids[fu.ID], ids[plain])
	}
	if err := e.srv.DeleteUser(plain); err != nil {
		t.Fatal(err)
	}
	r = e.call("GET", "/v1.0/directoryRoles/"+id+"/members?$top=999", nil)
	if len(r.body["value"].([]any)) != len(want)-1 {
		t.Errorf("a deleted user is still listed")
	}
	if err := e.srv.SetPrivileged("nobody@contoso.com", true); err != ErrNotFound {
		t.Errorf("unknown user: %v", err)
	}

	// Bad queries.
	e.mustStatus(e.call("GET", "/v1.0/directoryRoles/"+id+"/members?$top=1000", nil), 400)
	e.mustStatus(e.call("GET", "/v1.0/directoryRoles/"+id+"/members?$select=nope", nil), 400)
	e.mustStatus(e.call("GET", "/v1.0/directoryRoles/"+id+"/members?$skiptoken=bad", nil), 400)
}

// Reading roles needs RoleManagement.Read.Directory or Directory.Read.All (or their ReadWrite).
func TestDirectoryRolesPermission(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Users: 5, Roles: []string{"User.Read.All"}})
	id := e.srv.DirectoryRoleID(GlobalAdministratorTemplateID)
	for _, p := range []string{"/v1.0/directoryRoles", "/v1.0/directoryRoles/" + id + "/members"} {
		r := e.call("GET", p, nil)
		e.mustStatus(r, 403)
		if code := graphErrorCode(t, r); code != "Authorization_RequestDenied" {
			t.Errorf("%s: code %q", p, code)
		}
	}
	for _, roles := range [][]string{{"RoleManagement.Read.Directory"}, {"Directory.Read.All"}} {
		e.srv.SetRoles(roles)
		e.mustStatus(e.call("GET", "/v1.0/directoryRoles", nil), 200)
		e.mustStatus(e.call("GET", "/v1.0/directoryRoles/"+id+"/members", nil), 200)
	}
	if st := e.srv.Stats(); st.Forbidden != 2 {
		t.Errorf("Forbidden = %d, want 2", st.Forbidden)
	}
}
