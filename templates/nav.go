package templates

import (
	"context"

	"github.com/mfaportal/mfaportal/mfa"
)

// Tab is one entry of the navigation shown on every admin page.
type Tab struct {
	ID    string         // the Page.Tab (and Heading tab) of the pages under it
	Label string         // as shown, in the original page's lower case
	Href  string         // where it leads
	Perm  mfa.Permission // the tab is shown to roles that hold this permission
	// Only, when set, shows the tab only where the directory can do what it says (by the
	// capabilities the request's context carries).
	Only func(mfa.Capabilities) bool
}

// Tabs is the admin pages' one navigation, in order. A new page is one line here (and its route
// in web/routes.go); the tab shows to the roles that hold its permission.
var Tabs = []Tab{
	{ID: "users", Label: "users", Href: "/users", Perm: mfa.PermView},
	{ID: "settings", Label: "service settings", Href: "/settings", Perm: mfa.PermView},
	{ID: "registration", Label: "registration", Href: "/registration", Perm: mfa.PermView},
	{ID: "overview", Label: "overview", Href: "/overview", Perm: mfa.PermView},
	{ID: "conditional-access", Label: "move to Conditional Access", Href: "/conditional-access", Perm: mfa.PermBulkUpdate,
		Only: func(c mfa.Capabilities) bool { return c.ConditionalAccess }},
	{ID: "audit", Label: "audit log", Href: "/audit", Perm: mfa.PermView},
	{ID: "accounts", Label: "local accounts", Href: "/accounts", Perm: mfa.PermAdminister},
	{ID: "tokens", Label: "API tokens", Href: "/tokens", Perm: mfa.PermAdminister},
}

// tabsFor lists the tabs the signed-in admin of ctx may open (none when nobody is signed in).
func tabsFor(ctx context.Context) []Tab {
	actor, ok := mfa.ActorFromContext(ctx)
	if !ok {
		return nil
	}
	caps, _ := mfa.CapabilitiesFromContext(ctx)
	var out []Tab
	for _, t := range Tabs {
		if actor.Role.Can(t.Perm) && (t.Only == nil || t.Only(caps)) {
			out = append(out, t)
		}
	}
	return out
}
