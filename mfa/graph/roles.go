package graph

import (
	"context"
	"net/http"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/directoryroles"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// A user is privileged (mfa.User.Privileged: SPEC §3 keeps authentication administrators and the
// helpdesk off them) when it is a member of any activated directory role. The full sync reads
// them: GET /v1.0/directoryRoles, then each role's GET /directoryRoles/{id}/members in pages of
// 999 with $select=id,userPrincipalName. Both need RoleManagement.Read.Directory (or
// Directory.Read.All). Members that are not users (service principals, role-assignable groups) are
// left out: the members of a group assigned a role are not read.

// roleMemberFields are what the portal reads of a role member ($select).
var roleMemberFields = []string{"id", "userPrincipalName"}

// roleMembersTop is $top for a role's members: the most Graph allows (tests lower it to page).
var roleMembersTop = int32(pageSize)

// directoryRole is an activated directory role: its object id, its template id (what Conditional
// Access policies name in includeRoles) and its name.
type directoryRole struct {
	id, templateID, name string
}

// listDirectoryRoles reads the activated directory roles. One resource unit.
func (c *client) listDirectoryRoles(ctx context.Context) ([]directoryRole, error) {
	var resp models.DirectoryRoleCollectionResponseable
	err := c.do(ctx, 1, 0, func(ctx context.Context) error {
		var err error
		resp, err = directoryroles.NewDirectoryRolesRequestBuilderInternal(map[string]string{}, c.v1).Get(ctx,
			&directoryroles.DirectoryRolesRequestBuilderGetRequestConfiguration{
				QueryParameters: &directoryroles.DirectoryRolesRequestBuilderGetQueryParameters{Select: []string{"id", "displayName", "roleTemplateId"}},
			})
		return err
	})
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, &failure{msg: "an empty answer to GET /directoryRoles"}
	}
	var ids []directoryRole
	for _, r := range resp.GetValue() {
		id := deref(r.GetId())
		if id == "" {
			return nil, &failure{msg: "a malformed answer to GET /directoryRoles: a role without id"}
		}
		ids = append(ids, directoryRole{id: id, templateID: strings.ToLower(deref(r.GetRoleTemplateId())), name: deref(r.GetDisplayName())})
	}
	// The roles collection is small; a nextLink would still be followed for completeness.
	for next := deref(resp.GetOdataNextLink()); next != ""; {
		var page models.DirectoryRoleCollectionResponseable
		err := c.do(ctx, 1, 0, func(ctx context.Context) error {
			var err error
			page, err = directoryroles.NewDirectoryRolesRequestBuilder(next, c.v1).Get(ctx, nil)
			return err
		})
		if err != nil {
			return nil, err
		}
		if page == nil {
			return nil, &failure{msg: "an empty answer to GET /directoryRoles"}
		}
		for _, r := range page.GetValue() {
			if id := deref(r.GetId()); id != "" {
				ids = append(ids, directoryRole{id: id, templateID: strings.ToLower(deref(r.GetRoleTemplateId())), name: deref(r.GetDisplayName())})
			}
		}
		next = deref(page.GetOdataNextLink())
	}
	return ids, nil
}

// listRoleMembers reads a page of a role's members: the first (next == "") with $select and
// $top=999, or the one @odata.nextLink names. It answers the Graph ids of the users among them and
// the next link ("" on the last page). One resource unit.
func (c *client) listRoleMembers(ctx context.Context, roleID, next string) ([]string, string, error) {
	var resp models.DirectoryObjectCollectionResponseable
	err := c.do(ctx, 1, 0, func(ctx context.Context) error {
		var err error
		if next != "" {
			resp, err = directoryroles.NewItemMembersRequestBuilder(next, c.v1).Get(ctx, nil)
			return err
		}
		top := roleMembersTop
		resp, err = directoryroles.NewDirectoryRolesRequestBuilderInternal(map[string]string{}, c.v1).ByDirectoryRoleId(roleID).Members().Get(ctx,
			&directoryroles.ItemMembersRequestBuilderGetRequestConfiguration{
				QueryParameters: &directoryroles.ItemMembersRequestBuilderGetQueryParameters{Select: roleMemberFields, Top: &top},
			})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if resp == nil {
		return nil, "", &failure{msg: "an empty answer to GET /directoryRoles/{id}/members"}
	}
	var ids []string
	for _, m := range resp.GetValue() {
		if m == nil {
			continue
		}
		_, isUser := m.(models.Userable)
		if !isUser && !strings.EqualFold(deref(m.GetOdataType()), "#microsoft.graph.user") {
			continue
		}
		if id := strings.ToLower(deref(m.GetId())); id != "" {
			ids = append(ids, id)
		}
	}
	return ids, deref(resp.GetOdataNextLink()), nil
}

// roleMembers are the members of the activated directory roles: the users (Graph ids, lower case)
// of each role by template id, and the roles' names.
type roleMembers struct {
	byTemplate map[string]map[string]bool
	names      map[string]string
}

// privileged is the users who are members of any role.
func (r *roleMembers) privileged() map[string]bool {
	out := map[string]bool{}
	for _, members := range r.byTemplate {
		for id := range members {
			out[id] = true
		}
	}
	return out
}

// roleWorkers is how many roles' members are read at once (a tenant has a few to a few dozen
// activated roles; every page of users waits for them).
const roleWorkers = 4

// readRoleMembers reads the members of every activated directory role. A role gone meanwhile
// (404) has no members.
func (c *client) readRoleMembers(ctx context.Context) (*roleMembers, error) {
	roles, err := c.listDirectoryRoles(ctx)
	if err != nil {
		return nil, err
	}
	out := &roleMembers{byTemplate: map[string]map[string]bool{}, names: map[string]string{}}
	members := make([]map[string]bool, len(roles))
	err = eachAtOnce(ctx, len(roles), roleWorkers, func(ctx context.Context, i int) error {
		members[i] = map[string]bool{}
		for next := ""; ; {
			ids, n, err := c.listRoleMembers(ctx, roles[i].id, next)
			if isNotFound(failureOrNil(err)) {
				return nil
			}
			if err != nil {
				return err
			}
			for _, id := range ids {
				members[i][id] = true
			}
			if n == "" {
				return nil
			}
			next = n
		}
	})
	if err != nil {
		return nil, err
	}
	for i, role := range roles {
		out.byTemplate[role.templateID], out.names[role.templateID] = members[i], role.name
	}
	return out, nil
}

func failureOrNil(err error) *failure {
	if err == nil {
		return nil
	}
	return failureOf(err)
}

// rolesForbidden reports a refusal (403) to read the directory roles: the permission
// RoleManagement.Read.Directory was not granted.
func rolesForbidden(err error) bool {
	f := failureOrNil(err)
	return f != nil && f.status == http.StatusForbidden
}
