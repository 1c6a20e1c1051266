package mfa

import (
	"strings"
	"testing"
)

// specRoleTable is SPEC §3's table, written out cell by cell as the spec has it:
//
//	| action                                         | global-admin | authentication-admin | helpdesk             | reader |
//	| see users, user pages, service settings, ...   | yes          | yes                  | yes                  | yes    |
//	| Enable / Disable / Enforce (page, bulk, API)   | yes          | non-privileged users | no                   | no     |
//	| Manage user settings                           | yes          | non-privileged users | non-privileged users | no     |
//	| bulk update                                    | yes          | yes (rows on privileged users are refused) | no | no   |
//	| service settings: save                         | yes          | no                   | no                   | no     |
//	| local accounts and API tokens                  | yes          | no                   | no                   | no     |
//
// "non-privileged users" and "rows on privileged users are refused" both mean: allowed, but not on
// a privileged target user.
const (
	cellYes     = "yes"
	cellNonPriv = "non-privileged users"
	cellNo      = "no"
)

var specRoleTable = []struct {
	perm                                     Permission
	globalAdmin, authAdmin, helpdesk, reader string
}{
	{PermView, cellYes, cellYes, cellYes, cellYes},
	{PermChangeState, cellYes, cellNonPriv, cellNo, cellNo},
	{PermManageSettings, cellYes, cellNonPriv, cellNonPriv, cellNo},
	{PermBulkUpdate, cellYes, cellNonPriv, cellNo, cellNo},
	{PermSaveSettings, cellYes, cellNo, cellNo, cellNo},
	{PermAdminister, cellYes, cellNo, cellNo, cellNo},
}

func TestRolePermissions(t *testing.T) {
	for _, row := range specRoleTable {
		cells := map[Role]string{
			RoleGlobalAdmin: row.globalAdmin,
			RoleAuthAdmin:   row.authAdmin,
			RoleHelpdesk:    row.helpdesk,
			RoleReader:      row.reader,
		}
		for _, role := range Roles {
			cell := cells[role]
			wantCan := cell != cellNo
			wantOnPlain := cell != cellNo
			wantOnPriv := cell == cellYes
			if got := role.Can(row.perm); got != wantCan {
				t.Errorf("%s.Can(%s) = %v, want %v (%s)", role, row.perm, got, wantCan, cell)
			}
			if got := role.CanOn(row.perm, false); got != wantOnPlain {
				t.Errorf("%s.CanOn(%s, non-privileged) = %v, want %v (%s)", role, row.perm, got, wantOnPlain, cell)
			}
			if got := role.CanOn(row.perm, true); got != wantOnPriv {
				t.Errorf("%s.CanOn(%s, privileged) = %v, want %v (%s)", role, row.perm, got, wantOnPriv, cell)
			}
			actor := Actor{Name: "x", Role: role}
			err := actor.Require(row.perm)
			if (err == nil) != wantCan {
				t.Errorf("Actor{%s}.Require(%s) = %v, want allowed=%v", role, row.perm, err, wantCan)
			}
			if err != nil && (ErrorCode(err) != EFORBIDDEN || !strings.Contains(ErrorMessage(err), string(role))) {
				t.Errorf("Actor{%s}.Require(%s) = %v (code %q), want EFORBIDDEN naming the role", role, row.perm, err, ErrorCode(err))
			}
		}
	}
	// Every permission in the package is covered by the table.
	if len(specRoleTable) != len(permissions) {
		t.Errorf("the spec table has %d rows but the package knows %d permissions", len(specRoleTable), len(permissions))
	}
	for _, row := range specRoleTable {
		if _, ok := permissions[row.perm]; !ok {
			t.Errorf("permission %s of the spec is unknown to the package", row.perm)
		}
	}
}

func TestUnknownRoleHasNoRights(t *testing.T) {
	for _, role := range []Role{"", "admin", "Global-Admin", "root"} {
		for _, row := range specRoleTable {
			if role.Can(row.perm) || role.CanOn(row.perm, false) || role.CanOn(row.perm, true) {
				t.Errorf("unknown role %q holds %s", role, row.perm)
			}
			if err := (Actor{Role: role}).Require(row.perm); ErrorCode(err) != EFORBIDDEN {
				t.Errorf("Actor{%q}.Require(%s) = %v, want EFORBIDDEN", role, row.perm, err)
			}
		}
	}
	if (Role("bogus")).Can("no-such-permission") || RoleGlobalAdmin.Can("no-such-permission") {
		t.Error("an unknown permission is granted")
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in      string
		want    Role
		wantErr bool
	}{
		{"global-admin", RoleGlobalAdmin, false},
		{"GLOBAL-ADMIN", RoleGlobalAdmin, false},
		{" authentication-admin ", RoleAuthAdmin, false},
		{"Helpdesk", RoleHelpdesk, false},
		{"reader", RoleReader, false},
		{"", "", true},
		{"admin", "", true},
		{"global admin", "", true},
		{"auth-admin", "", true},
		{"Global Administrator", "", true},
	}
	for _, tt := range tests {
		got, err := ParseRole(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseRole(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			continue
		}
		if err != nil {
			msg := ErrorMessage(err)
			if ErrorCode(err) != EINVALID || !strings.Contains(msg, "global-admin, authentication-admin, helpdesk or reader") || !strings.Contains(msg, `"`+tt.in+`"`) {
				t.Errorf("ParseRole(%q): error %q (code %q), want EINVALID naming what was found and expected", tt.in, msg, ErrorCode(err))
			}
		}
	}
}

func TestRoleLabelAndRank(t *testing.T) {
	tests := []struct {
		r     Role
		label string
		rank  int
	}{
		{RoleGlobalAdmin, "Global administrator", 4},
		{RoleAuthAdmin, "Authentication administrator", 3},
		{RoleHelpdesk, "Helpdesk administrator", 2},
		{RoleReader, "Global reader", 1},
		{"bogus", "bogus", 0},
	}
	for _, tt := range tests {
		if got := tt.r.Label(); got != tt.label {
			t.Errorf("%q.Label() = %q, want %q", tt.r, got, tt.label)
		}
		if got := tt.r.Rank(); got != tt.rank {
			t.Errorf("%q.Rank() = %d, want %d", tt.r, got, tt.rank)
		}
	}
	// A higher rank may do at least what a lower one may.
	for _, hi := range Roles {
		for _, lo := range Roles {
			if hi.Rank() <= lo.Rank() {
				continue
			}
			for _, row := range specRoleTable {
				for _, priv := range []bool{false, true} {
					if lo.CanOn(row.perm, priv) && !hi.CanOn(row.perm, priv) {
						t.Errorf("%s may %s (privileged=%v) but the stronger %s may not", lo, row.perm, priv, hi)
					}
				}
			}
		}
	}
}
