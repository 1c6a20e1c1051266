package graphemu

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Groups exist for Conditional Access: policies include and exclude them, and the portal reads their
// members transitively (GET /groups/{id}/transitiveMembers, group-list-transitivemembers.md). A group's
// members are users and other groups (nested); transitiveMembers flattens them: every user and every
// group under it, each once.

const odataGroup = "#microsoft.graph.group"

// group is a security group and its direct members (user or group ids, in the order added).
type group struct {
	id, displayName string
	members         []string
}

// rolesGroupRead are the permissions that allow reading a group and its transitive members: the
// least privileged GroupMember.ReadBasic.All and the higher ones
// (includes/permissions/group-list-transitivemembers-permissions.md).
var rolesGroupRead = []string{"GroupMember.ReadBasic.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All",
	"Group.ReadBasic.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}

// transitiveLocked is every member under the group, users and groups, each once, depth first in the
// order members were added. Callers hold d.mu.
func (d *directory) transitiveLocked(g *group) []string {
	var out []string
	seen := map[string]bool{g.id: true}
	var walk func(g *group)
	walk = func(g *group) {
		for _, m := range g.members {
			if seen[m] {
				continue
			}
			seen[m] = true
			out = append(out, m)
			if sub := d.ca.groups[m]; sub != nil {
				walk(sub)
			}
		}
	}
	walk(g)
	return out
}

func groupJSON(g *group, sel map[string]bool) obj {
	o := obj{{"id", g.id}}
	if sel == nil || sel["displayName"] {
		o = append(o, kv{"displayName", g.displayName})
	}
	if sel == nil {
		o = append(o, kv{"mailEnabled", false}, kv{"securityEnabled", true}, kv{"groupTypes", []string{}})
	}
	return o
}

// memberSelection parses $select on a collection of directory objects: id, displayName and
// userPrincipalName are known (nil: none given, every default property).
func (s *Server) memberSelection(c *call) (map[string]bool, *result) {
	raw, ok := queryOpt(c.query, "select")
	if !ok {
		return nil, nil
	}
	sel := map[string]bool{"id": true}
	for _, p := range strings.Split(raw, ",") {
		switch p = strings.TrimSpace(p); strings.ToLower(p) {
		case "":
		case "id":
		case "displayname":
			sel["displayName"] = true
		case "userprincipalname":
			sel["userPrincipalName"] = true
		default:
			res := s.graphError(c, http.StatusBadRequest, "Request_BadRequest",
				fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.directoryObject'.", p))
			return nil, &res
		}
	}
	return sel, nil
}

// getGroup answers GET /groups/{id}.
func (s *Server) getGroup(c *call) result {
	sel, errRes := s.memberSelection(c)
	if errRes != nil {
		return *errRes
	}
	s.dir.mu.RLock()
	g := s.dir.ca.groups[strings.ToLower(c.segs[1])]
	var o obj
	if g != nil {
		o = groupJSON(g, sel)
	}
	s.dir.mu.RUnlock()
	if g == nil {
		return s.notFoundUser(c, c.segs[1])
	}
	return jsonResult(http.StatusOK, append(obj{{"@odata.context", c.base + "/" + c.version + "/$metadata#groups/$entity"}}, o...))
}

// listTransitiveMembers answers GET /groups/{id}/transitiveMembers: users and groups under the
// group, each with its @odata.type, at most $top (default 100, up to 999) a page, with an absolute
// @odata.nextLink while more remain. $filter, $search, $orderby, $count and OData casts need the
// advanced query parameters (ConsistencyLevel: eventual) and are not emulated: refused.
func (s *Server) listTransitiveMembers(c *call) result {
	for _, unsupported := range []string{"expand", "orderby", "search", "skip", "filter", "count"} {
		if _, ok := queryOpt(c.query, unsupported); ok {
			return s.graphError(c, http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("The query option '$%s' is not supported by the emulator on transitive members.", unsupported))
		}
	}
	sel, errRes := s.memberSelection(c)
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
	from := 0
	if t, ok := queryOpt(c.query, "skiptoken"); ok {
		n, ok := decodeSkipToken(t)
		if !ok {
			return s.graphError(c, http.StatusBadRequest, "Request_BadRequest", "Invalid skip token.")
		}
		from = int(n)
	}
	d := &s.dir
	d.mu.RLock()
	g := d.ca.groups[strings.ToLower(c.segs[1])]
	if g == nil {
		d.mu.RUnlock()
		return s.notFoundUser(c, c.segs[1])
	}
	all := d.ca.flat(d, g)
	values := make([]any, 0, min(top, max(0, len(all)-from)))
	userSel := defaultUserProps
	if sel != nil {
		userSel = sel
	}
	i := from
	for ; i < len(all) && len(values) < top; i++ {
		if sub := d.ca.groups[all[i]]; sub != nil {
			values = append(values, append(obj{{"@odata.type", odataGroup}}, groupJSON(sub, sel)...))
		} else if u := d.byID[all[i]]; u != nil {
			values = append(values, append(obj{{"@odata.type", odataUser}}, s.userJSON(u, userSel)...))
		}
	}
	d.mu.RUnlock()
	out := obj{{"@odata.context", c.base + "/" + c.version + "/$metadata#directoryObjects"}}
	if i < len(all) {
		q := url.Values{}
		for k, v := range c.query {
			if !strings.EqualFold(strings.TrimPrefix(k, "$"), "skiptoken") {
				q[k] = v
			}
		}
		if _, ok := queryOpt(q, "top"); !ok {
			q.Set("$top", strconv.Itoa(top))
		}
		q.Set("$skiptoken", encodeSkipToken(uint64(i)))
		out = append(out, kv{"@odata.nextLink", c.base + "/" + c.version + "/groups/" + url.PathEscape(c.segs[1]) + "/transitiveMembers?" + encodeODataQuery(q)})
	}
	return jsonResult(http.StatusOK, append(out, kv{"value", values}))
}

// flat is the group's transitive members, computed once per change of any group's members (a large
// group is paged through by many requests). Callers hold d.mu (read or write).
func (t *caTenant) flat(d *directory, g *group) []string {
	t.flatMu.Lock()
	defer t.flatMu.Unlock()
	if t.flatCache == nil {
		t.flatCache = map[string][]string{}
	}
	if m, ok := t.flatCache[g.id]; ok {
		return m
	}
	m := d.transitiveLocked(g)
	t.flatCache[g.id] = m
	return m
}

// ---- accessors for tests ----

// AddGroup creates a security group with the given members (user ids or user names, and ids of
// groups created before), and returns its id, derived from its name.
func (s *Server) AddGroup(displayName string, members ...string) (string, error) {
	d := &s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	id := derivedID("group", displayName)
	if d.ca.groups[id] != nil {
		return "", fmt.Errorf("graphemu: group %q already exists", displayName)
	}
	g := &group{id: id, displayName: displayName}
	for _, m := range members {
		mid, err := d.memberID(m)
		if err != nil {
			return "", err
		}
		g.members = append(g.members, mid)
	}
	if d.ca.groups == nil {
		d.ca.groups = map[string]*group{}
	}
	d.ca.groups[id] = g
	d.ca.changed()
	return id, nil
}

// AddGroupMembers adds members (users or groups) to a group.
func (s *Server) AddGroupMembers(groupID string, members ...string) error {
	d := &s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.ca.groups[strings.ToLower(groupID)]
	if g == nil {
		return ErrNotFound
	}
	for _, m := range members {
		mid, err := d.memberID(m)
		if err != nil {
			return err
		}
		g.members = append(g.members, mid)
	}
	d.ca.changed()
	return nil
}

// memberID is the id of a user (by id or user name) or of a group. Callers hold d.mu.
func (d *directory) memberID(m string) (string, error) {
	if u := d.lookup(m); u != nil {
		return u.id, nil
	}
	if g := d.ca.groups[strings.ToLower(m)]; g != nil {
		return g.id, nil
	}
	return "", fmt.Errorf("graphemu: no user or group %q: %w", m, ErrNotFound)
}

// TransitiveUserMembers is the ids of the users in a group, directly or through nested groups.
func (s *Server) TransitiveUserMembers(groupID string) map[string]bool {
	d := &s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := map[string]bool{}
	if g := d.ca.groups[strings.ToLower(groupID)]; g != nil {
		for _, id := range d.transitiveLocked(g) {
			if d.byID[id] != nil {
				out[id] = true
			}
		}
	}
	return out
}
