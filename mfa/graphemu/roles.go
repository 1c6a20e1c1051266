package graphemu

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Directory role templates the emulator knows (ids are the built-in roles' immutable template ids).
const (
	GlobalAdministratorTemplateID           = "62e90394-69f5-4237-9190-012177145e10"
	PrivilegedAuthenticationAdminTemplateID = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
	AuthenticationAdministratorTemplateID   = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	HelpdeskAdministratorTemplateID         = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	UserAdministratorTemplateID             = "fe930be7-5e62-47db-91af-98c3a49a38b1"

	odataUser             = "#microsoft.graph.user"
	roleMembersDefaultTop = 100
	roleMembersMaxTop     = 999
)

// roleTemplates are the display names and descriptions of the known templates.
var roleTemplates = map[string][2]string{
	GlobalAdministratorTemplateID:           {"Global Administrator", "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities."},
	PrivilegedAuthenticationAdminTemplateID: {"Privileged Authentication Administrator", "Can access to view, set and reset authentication method information for any user (admin or non-admin)."},
	AuthenticationAdministratorTemplateID:   {"Authentication Administrator", "Can access to view, set and reset authentication method information for any non-admin user."},
	HelpdeskAdministratorTemplateID:         {"Helpdesk Administrator", "Can reset passwords for non-administrators and Helpdesk Administrators."},
	UserAdministratorTemplateID:             {"User Administrator", "Can manage all aspects of users and groups, including resetting passwords for limited admins."},
}

// dirRole is an activated directory role and its members (user ids).
type dirRole struct {
	id, templateID, displayName, description string
	members                                  map[string]bool
}

// rolesRead are the permissions that allow reading directory roles and their members.
var rolesRead = []string{"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory.Read.All", "Directory.ReadWrite.All"}

// activateLocked returns the activated role of a template, activating it first. Callers hold d.mu.
func (d *directory) activateLocked(templateID string) (*dirRole, error) {
	templateID = strings.ToLower(strings.TrimSpace(templateID))
	for _, r := range d.roles {
		if r.templateID == templateID {
			return r, nil
		}
	}
	t, ok := roleTemplates[templateID]
	if !ok {
		return nil, fmt.Errorf("graphemu: unknown directory role template %q", templateID)
	}
	r := &dirRole{id: derivedID("directoryRole", templateID), templateID: templateID, displayName: t[0], description: t[1], members: map[string]bool{}}
	d.roles = append(d.roles, r)
	return r, nil
}

// roleLocked finds an activated role by object id or "roleTemplateId=…". Callers hold d.mu.
func (d *directory) roleLocked(key string) *dirRole {
	key = strings.ToLower(strings.TrimSpace(key))
	tmpl, byTemplate := strings.CutPrefix(key, "roletemplateid=")
	for _, r := range d.roles {
		if (byTemplate && r.templateID == tmpl) || (!byTemplate && r.id == key) {
			return r
		}
	}
	return nil
}

// privilegedLocked reports whether the user is a member of any directory role. Callers hold d.mu.
func (d *directory) privilegedLocked(id string) bool {
	for _, r := range d.roles {
		if r.members[id] {
			return true
		}
	}
	return false
}

func roleJSON(r *dirRole) obj {
	return obj{{"id", r.id}, {"deletedDateTime", nil}, {"description", r.description}, {"displayName", r.displayName}, {"roleTemplateId", r.templateID}}
}

// listDirectoryRoles answers GET /directoryRoles: the activated roles (never paged: there are few).
func (s *Server) listDirectoryRoles(c *call) result {
	s.dir.mu.RLock()
	values := make([]any, 0, len(s.dir.roles))
	for _, r := range s.dir.roles {
		values = append(values, roleJSON(r))
	}
	s.dir.mu.RUnlock()
	return jsonResult(http.StatusOK, obj{{"@odata.context", c.base + "/" + c.version + "/$metadata#directoryRoles"}, {"value", values}})
}

func (s *Server) notFoundRole(c *call, id string) result {
	return s.graphError(c, http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

// getDirectoryRole answers GET /directoryRoles/{id | roleTemplateId=…}.
func (s *Server) getDirectoryRole(c *call) result {
	s.dir.mu.RLock()
	r := s.dir.roleLocked(c.segs[1])
	var o obj
	if r != nil {
		o = roleJSON(r)
	}
	s.dir.mu.RUnlock()
	if r == nil {
		return s.notFoundRole(c, c.segs[1])
	}
	return jsonResult(http.StatusOK, append(obj{{"@odata.context", c.base + "/" + c.version + "/$metadata#directoryRoles/$entity"}}, o...))
}

// listRoleMembers answers GET /directoryRoles/{id}/members: the member users (#microsoft.graph.user)
// in creation order, at most $top (default 100, up to 999) a page after $skiptoken, with an absolute
// @odata.nextLink while more remain. $select takes user properties.
func (s *Server) listRoleMembers(c *call) result {
	for _, unsupported := range []string{"expand", "orderby", "search", "skip", "filter", "count"} {
		if _, ok := queryOpt(c.query, unsupported); ok {
			return s.graphError(c, http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("The query option '$%s' is not supported by the emulator on directory role members.", unsupported))
		}
	}
	sel, selList, errRes := s.selection(c)
	if errRes != nil {
		return *errRes
	}
	top := roleMembersDefaultTop
	if t, ok := queryOpt(c.query, "top"); ok {
		n, errRes := s.pageSize(c, t)
		if errRes != nil {
			return *errRes
		}
		top = n
	}
	var after uint64
	if t, ok := queryOpt(c.query, "skiptoken"); ok {
		seq, ok := decodeSkipToken(t)
		if !ok {
			return s.graphError(c, http.StatusBadRequest, "Request_BadRequest", "Invalid skip token.")
		}
		after = seq
	}
	d := &s.dir
	d.mu.RLock()
	r := d.roleLocked(c.segs[1])
	if r == nil {
		d.mu.RUnlock()
		return s.notFoundRole(c, c.segs[1])
	}
	values := make([]any, 0, min(top, len(r.members)))
	var last uint64
	more := false
	for i := d.indexAfter(after); i < len(d.users); i++ {
		u := d.users[i]
		if !r.members[u.id] {
			continue
		}
		if len(values) == top {
			more = true
			break
		}
		values = append(values, append(obj{{"@odata.type", odataUser}}, s.userJSON(u, sel)...))
		last = u.seq
	}
	d.mu.RUnlock()

	ctx := c.base + "/" + c.version + "/$metadata#directoryObjects"
	if selList != nil {
		ctx += "(" + strings.Join(selList, ",") + ")"
	}
	out := obj{{"@odata.context", ctx}}
	if more {
		q := url.Values{}
		for k, v := range c.query {
			if !strings.EqualFold(strings.TrimPrefix(k, "$"), "skiptoken") {
				q[k] = v
			}
		}
		if _, ok := queryOpt(q, "top"); !ok {
			q.Set("$top", strconv.Itoa(top))
		}
		q.Set("$skiptoken", encodeSkipToken(last))
		out = append(out, kv{"@odata.nextLink", c.base + "/" + c.version + "/directoryRoles/" + url.PathEscape(c.segs[1]) + "/members?" + encodeODataQuery(q)})
	}
	out = append(out, kv{"value", values})
	return jsonResult(http.StatusOK, out)
}

// ---- accessors for tests ----

// SetPrivileged makes a user a member of the Global Administrator role (true), or removes it from
// every directory role (false).
func (s *Server) SetPrivileged(idOrUPN string, privileged bool) error {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	u := s.dir.lookup(idOrUPN)
	if u == nil {
		return ErrNotFound
	}
	if privileged {
		r, err := s.dir.activateLocked(GlobalAdministratorTemplateID)
		if err != nil {
			return err
		}
		r.members[u.id] = true
		return nil
	}
	for _, r := range s.dir.roles {
		delete(r.members, u.id)
	}
	return nil
}

// SetRoleMember adds a user to (or removes it from) the directory role of a template, activating the
// role first when needed. The known templates are the *TemplateID constants.
func (s *Server) SetRoleMember(roleTemplateID, idOrUPN string, member bool) error {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	u := s.dir.lookup(idOrUPN)
	if u == nil {
		return ErrNotFound
	}
	r, err := s.dir.activateLocked(roleTemplateID)
	if err != nil {
		return err
	}
	if member {
		r.members[u.id] = true
	} else {
		delete(r.members, u.id)
	}
	return nil
}

// Privileged reports whether the user is a member of any directory role.
func (s *Server) Privileged(idOrUPN string) bool {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	u := s.dir.lookup(idOrUPN)
	return u != nil && s.dir.privilegedLocked(u.id)
}

// DirectoryRoleID is the object id of the activated role of a template ("" when not activated).
func (s *Server) DirectoryRoleID(roleTemplateID string) string {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	if r := s.dir.roleLocked("roleTemplateId=" + roleTemplateID); r != nil {
		return r.id
	}
	return ""
}
