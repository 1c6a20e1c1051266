package mfa

// FlipGrant flips one cell of the permission table (allowed, or, with onPrivileged, allowed on a
// privileged target) for the authorization tests of package mfa_test; restore puts it back.
func FlipGrant(p Permission, r Role, onPrivileged bool) (restore func()) {
	old, had := permissions[p][r]
	g := old
	if onPrivileged {
		g.onPrivileged = !g.onPrivileged
	} else {
		g.allowed = !g.allowed
	}
	permissions[p][r] = g
	return func() {
		if had {
			permissions[p][r] = old
		} else {
			delete(permissions[p], r)
		}
	}
}

// GrantAllowed reports a cell of the permission table (for choosing which cells to flip).
func GrantAllowed(p Permission, r Role) bool { return permissions[p][r].allowed }
