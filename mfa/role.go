package mfa

import "strings"

// Role is what a signed-in admin (or an API token) may do (SPEC §3).
type Role string

// The four roles, spelled as on the command line.
const (
	RoleGlobalAdmin Role = "global-admin"
	RoleAuthAdmin   Role = "authentication-admin"
	RoleHelpdesk    Role = "helpdesk"
	RoleReader      Role = "reader"
)

// Roles lists the roles from strongest to weakest.
var Roles = []Role{RoleGlobalAdmin, RoleAuthAdmin, RoleHelpdesk, RoleReader}

// ParseRole parses a role name case-insensitively.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range Roles {
		if r == known {
			return r, nil
		}
	}
	return "", Errorf(EINVALID, "unknown role %q: expected global-admin, authentication-admin, helpdesk or reader", truncate(s, 40))
}

// Label is the role as shown in the header.
func (r Role) Label() string {
	switch r {
	case RoleGlobalAdmin:
		return "Global administrator"
	case RoleAuthAdmin:
		return "Authentication administrator"
	case RoleHelpdesk:
		return "Helpdesk administrator"
	case RoleReader:
		return "Global reader"
	}
	return string(r)
}

// Rank orders roles: a higher rank may do at least what a lower one may. Unknown roles rank 0.
func (r Role) Rank() int {
	for i, known := range Roles {
		if r == known {
			return len(Roles) - i
		}
	}
	return 0
}

// Permission is one row of SPEC §3's table.
type Permission string

// The permissions of SPEC §3.
const (
	PermView           Permission = "view"            // users, user pages, service settings, audit log; export
	PermChangeState    Permission = "change-state"    // Enable / Disable / Enforce
	PermManageSettings Permission = "manage-settings" // Manage user settings (reset methods, app passwords, devices)
	PermBulkUpdate     Permission = "bulk-update"
	PermSaveSettings   Permission = "save-settings" // service settings: save
	PermAdminister     Permission = "administer"    // local accounts and API tokens
)

// grant is SPEC §3's table. "privileged" marks a permission that holds only for non-privileged
// target users.
type grant struct{ allowed, onPrivileged bool }

var permissions = map[Permission]map[Role]grant{
	PermView: {
		RoleGlobalAdmin: {true, true}, RoleAuthAdmin: {true, true}, RoleHelpdesk: {true, true}, RoleReader: {true, true},
	},
	PermChangeState: {
		RoleGlobalAdmin: {true, true}, RoleAuthAdmin: {true, false},
	},
	PermManageSettings: {
		RoleGlobalAdmin: {true, true}, RoleAuthAdmin: {true, false}, RoleHelpdesk: {true, false},
	},
	PermBulkUpdate: {
		RoleGlobalAdmin: {true, true}, RoleAuthAdmin: {true, false},
	},
	PermSaveSettings: {RoleGlobalAdmin: {true, true}},
	PermAdminister:   {RoleGlobalAdmin: {true, true}},
}

// Can reports whether the role holds the permission at all (for some target).
func (r Role) Can(p Permission) bool { return permissions[p][r].allowed }

// CanOn reports whether the role holds the permission for a target user who is or is not privileged.
func (r Role) CanOn(p Permission, targetPrivileged bool) bool {
	g := permissions[p][r]
	return g.allowed && (!targetPrivileged || g.onPrivileged)
}

// Actor is who performs an action: an admin signed in to the portal, an API token, or the CLI.
type Actor struct {
	Name   string
	Role   Role
	Method string // how they signed in: "local", "oidc", "token", "cli"
	IP     string // client address, "" for the CLI
}

// Require answers EFORBIDDEN unless the actor's role holds the permission.
func (a Actor) Require(p Permission) error {
	if !a.Role.Can(p) {
		return Errorf(EFORBIDDEN, "your role (%s) may not do this", a.Role)
	}
	return nil
}
