package graph

import (
	"context"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"sync"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// The groups Conditional Access policies include or exclude are read with their members
// transitively — users in nested groups count (GET /v1.0/groups/{id}/transitiveMembers, "a flat
// list of all nested members", group-list-transitivemembers.md) — with $select=id and $top=999,
// following @odata.nextLink; nested groups, devices and contacts in the list are left out. They need
// GroupMember.Read.All (or the least privileged GroupMember.ReadBasic.All). A group deleted since the
// policy named it has no members.

// guid is a Graph object id as 16 bytes: a million members take a third of the memory of strings.
type guid [16]byte

// parseGUID reads a GUID (any case); ok is false for anything else.
func parseGUID(s string) (guid, bool) {
	var g guid
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(g[:], []byte(h)); err != nil {
		return g, false
	}
	return g, true
}

// idSet is a set of Graph object ids: GUIDs as 16 bytes, anything else as a string.
type idSet struct {
	guids  map[guid]struct{}
	others map[string]struct{}
}

func newIDSet() *idSet { return &idSet{guids: map[guid]struct{}{}, others: map[string]struct{}{}} }

func (s *idSet) add(id string) {
	if g, ok := parseGUID(id); ok {
		s.guids[g] = struct{}{}
		return
	}
	s.others[strings.ToLower(id)] = struct{}{}
}

func (s *idSet) has(id string) bool {
	if s == nil {
		return false
	}
	if g, ok := parseGUID(id); ok {
		_, in := s.guids[g]
		return in
	}
	_, in := s.others[strings.ToLower(id)]
	return in
}

func (s *idSet) len() int { return len(s.guids) + len(s.others) }

// groupMembers are the users of each group read (by lower-case group id) and the groups' names.
type groupMembers struct {
	users map[string]*idSet
	names map[string]string
}

// groupWorkers is how many groups are read at once.
const groupWorkers = 4

// readGroups reads the user members of the groups, transitively. The first failure stops it.
func (c *client) readGroups(ctx context.Context, ids []string) (*groupMembers, error) {
	out := &groupMembers{users: map[string]*idSet{}, names: map[string]string{}}
	var mu sync.Mutex
	err := eachAtOnce(ctx, len(ids), groupWorkers, func(ctx context.Context, i int) error {
		name, users, err := c.readGroup(ctx, ids[i])
		mu.Lock()
		out.users[ids[i]], out.names[ids[i]] = users, name
		mu.Unlock()
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// groupMemberTop is $top for a group's members: the most Graph allows.
var groupMemberTop = pageSize

// readGroup reads a group's name and its user members, transitively, at once; a group gone (404)
// has none.
func (c *client) readGroup(ctx context.Context, id string) (string, *idSet, error) {
	path := "/groups/" + url.PathEscape(id)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	name, users := id, newIDSet()
	nameErr, membersErr := together(func() error {
		v, err := c.get(ctx, func() *abs.RequestInformation {
			return c.getInfo(false, path, "", url.Values{"$select": {"id,displayName"}})
		}, models.CreateGroupFromDiscriminatorValue)
		if err != nil {
			cancel() // the members are of no use without the group
			return err
		}
		if g, ok := v.(models.Groupable); ok && deref(g.GetDisplayName()) != "" {
			name = deref(g.GetDisplayName())
		}
		return nil
	}, func() error { return c.readTransitiveMembers(ctx, path, users) })
	switch {
	case isNotFound(failureOrNil(nameErr)):
		return id, newIDSet(), nil
	case nameErr != nil:
		return "", nil, nameErr
	case isNotFound(failureOrNil(membersErr)):
		return name, users, nil // deleted while its members were read
	case membersErr != nil:
		return "", nil, membersErr
	}
	return name, users, nil
}

// readTransitiveMembers adds the users among a group's transitive members to users, following
// @odata.nextLink.
func (c *client) readTransitiveMembers(ctx context.Context, path string, users *idSet) error {
	next := ""
	query := url.Values{"$select": {"id"}, "$top": {strconv.Itoa(groupMemberTop)}}
	for {
		v, err := c.get(ctx, func() *abs.RequestInformation { return c.getInfo(false, path+"/transitiveMembers", next, query) },
			models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue)
		if err != nil {
			return err
		}
		page, ok := v.(models.DirectoryObjectCollectionResponseable)
		if !ok {
			return &failure{msg: "a malformed answer to GET /groups/{id}/transitiveMembers"}
		}
		for _, m := range page.GetValue() {
			if m == nil {
				continue
			}
			_, isUser := m.(models.Userable)
			if isUser || strings.EqualFold(deref(m.GetOdataType()), "#microsoft.graph.user") {
				if mid := deref(m.GetId()); mid != "" {
					users.add(mid)
				}
			}
		}
		if next = deref(page.GetOdataNextLink()); next == "" {
			return nil
		}
	}
}
