package mfa_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
)

// Authorization lives in one place: the route table is the coarse gate (web), and every rule
// about what a role may do, to whom, is checked by mfa.Service. These tests drive the service as
// each role against an ordinary and a privileged user and compare every outcome with SPEC §3; and
// they flip each cell of the permission table in turn to show that some outcome changes, so that
// no rule is left unchecked.

// specOutcomes is what SPEC §3 says each role gets for each operation: "ok", or the error code.
// bulk.plan also says how many of its two rows (an ordinary user, an admin) are refused.
var specOutcomes = map[string]map[mfa.Role]string{
	"users.list":        {mfa.RoleGlobalAdmin: "ok", mfa.RoleAuthAdmin: "ok", mfa.RoleHelpdesk: "ok", mfa.RoleReader: "ok"},
	"audit.find":        {mfa.RoleGlobalAdmin: "ok", mfa.RoleAuthAdmin: "ok", mfa.RoleHelpdesk: "ok", mfa.RoleReader: "ok"},
	"state.user":        {mfa.RoleGlobalAdmin: "ok", mfa.RoleAuthAdmin: "ok", mfa.RoleHelpdesk: "forbidden", mfa.RoleReader: "forbidden"},
	"state.admin":       {mfa.RoleGlobalAdmin: "ok", mfa.RoleAuthAdmin: "forbidden", mfa.RoleHelpdesk: "forbidden", mfa.RoleReader: "forbidden"},
	"reset.user":        {mfa.RoleGlobalAdmin: "ok", mfa.RoleAuthAdmin: "ok", mfa.RoleHelpdesk: "ok", mfa.RoleReader: "forbidden"},
	"reset.admin":       {mfa.RoleGlobalAdmin: "ok", mfa.RoleAuthAdmin: "forbidden", mfa.RoleHelpdesk: "forbidden", mfa.RoleReader: "forbidden"},
	"bulk.plan":         {mfa.RoleGlobalAdmin: "ok refused=0", mfa.RoleAuthAdmin: "ok refused=1", mfa.RoleHelpdesk: "forbidden", mfa.RoleReader: "forbidden"},
	"settings.save":     {mfa.RoleGlobalAdmin: "ok", mfa.RoleAuthAdmin: "forbidden", mfa.RoleHelpdesk: "forbidden", mfa.RoleReader: "forbidden"},
	"tokens.create":     {mfa.RoleGlobalAdmin: "ok", mfa.RoleAuthAdmin: "forbidden", mfa.RoleHelpdesk: "forbidden", mfa.RoleReader: "forbidden"},
	"accounts.list":     {mfa.RoleGlobalAdmin: "ok", mfa.RoleAuthAdmin: "forbidden", mfa.RoleHelpdesk: "forbidden", mfa.RoleReader: "forbidden"},
	"bulk.jobs":         {mfa.RoleGlobalAdmin: "ok", mfa.RoleAuthAdmin: "ok", mfa.RoleHelpdesk: "forbidden", mfa.RoleReader: "forbidden"},
	"step.confirm":      {mfa.RoleGlobalAdmin: "ok", mfa.RoleAuthAdmin: "ok", mfa.RoleHelpdesk: "forbidden", mfa.RoleReader: "forbidden"},
	"manage.confirm":    {mfa.RoleGlobalAdmin: "ok", mfa.RoleAuthAdmin: "ok", mfa.RoleHelpdesk: "ok", mfa.RoleReader: "forbidden"},
	"account.mfa.reset": {mfa.RoleGlobalAdmin: "not_found", mfa.RoleAuthAdmin: "forbidden", mfa.RoleHelpdesk: "forbidden", mfa.RoleReader: "forbidden"},
}

// operations are the service calls of specOutcomes, each made as actor on a fresh service.
var operations = map[string]func(ctx context.Context, svc *mfa.Service, actor mfa.Actor) (string, error){
	"users.list": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		_, err := svc.ListUsers(ctx, a, mfa.UserFilter{})
		return "", err
	},
	"audit.find": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		_, err := svc.FindAudit(ctx, a, mfa.AuditFilter{})
		return "", err
	},
	"state.user": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		_, _, err := svc.SetState(ctx, a, mfa.StateRequest{UPN: "user@contoso.com", To: mfa.StateEnabled, Source: mfa.SourceAPI})
		return "", err
	},
	"state.admin": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		_, _, err := svc.SetState(ctx, a, mfa.StateRequest{UPN: "admin@contoso.com", To: mfa.StateDisabled, Source: mfa.SourceAPI})
		return "", err
	},
	"reset.user": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		_, _, err := svc.ResetUser(ctx, a, mfa.ResetRequest{UPN: "user@contoso.com", Options: mfa.ResetOptions{RememberedDevices: true}, Source: mfa.SourceAPI})
		return "", err
	},
	"reset.admin": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		_, _, err := svc.ResetUser(ctx, a, mfa.ResetRequest{UPN: "admin@contoso.com", Options: mfa.ResetOptions{RememberedDevices: true}, Source: mfa.SourceAPI})
		return "", err
	},
	"bulk.plan": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		file := "Username,MFA Status\nuser@contoso.com,Enforced\nadmin@contoso.com,Disabled\n"
		job, err := svc.CreateBulkJob(ctx, a, "f.csv", strings.NewReader(file), mfa.DefaultCSVLimits, "")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf(" refused=%d", job.Counts.Errors), nil
	},
	"settings.save": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		s := mfa.DefaultSettings()
		s.AppPasswordsAllowed = true
		_, _, err := svc.SaveSettings(ctx, a, s, mfa.SourceAPI)
		return "", err
	},
	"tokens.create": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		_, _, err := svc.CreateToken(ctx, a, "t-"+string(a.Role), mfa.RoleReader)
		return "", err
	},
	"accounts.list": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		_, err := svc.ListAccounts(ctx, a)
		return "", err
	},
	"bulk.jobs": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		_, err := svc.ListBulkJobs(ctx, a, 10)
		return "", err
	},
	"step.confirm": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		return "", svc.MayTakeStep(a, mfa.ActionEnforce)
	},
	"manage.confirm": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		return "", svc.MayTakeStep(a, "")
	},
	"account.mfa.reset": func(ctx context.Context, svc *mfa.Service, a mfa.Actor) (string, error) {
		return "", svc.ResetAccountMFA(ctx, a, "nobody")
	},
}

// outcomes runs every operation as every role, each role on a fresh store, and answers the
// outcomes that differ from SPEC §3 ("op as role: got X, want Y").
func outcomes(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	var diffs []string
	for _, role := range mfa.Roles {
		svc := authzService(t)
		actor := mfa.Actor{Name: "someone", Role: role, Method: "local"}
		for _, op := range slices.Sorted(func(yield func(string) bool) {
			for k := range operations {
				if !yield(k) {
					return
				}
			}
		}) {
			detail, err := operations[op](ctx, svc, actor)
			got := "ok" + detail
			if err != nil {
				got = mfa.ErrorCode(err)
			}
			if want := specOutcomes[op][role]; got != want {
				diffs = append(diffs, fmt.Sprintf("%s as %s: got %s, want %s", op, role, got, want))
			}
		}
	}
	return diffs
}

func authzService(t *testing.T) *mfa.Service {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	users := []mfa.User{
		{UPN: "user@contoso.com", DisplayName: "User", AccountEnabled: true, State: mfa.StateDisabled},
		{UPN: "admin@contoso.com", DisplayName: "Admin", AccountEnabled: true, Privileged: true, State: mfa.StateEnabled},
	}
	if _, err := db.SeedUsers(ctx, slices.Values(users), now, nil); err != nil {
		t.Fatal(err)
	}
	svc, err := mfa.NewService(mfa.Deps{Directory: db, Accounts: db, Audit: db, Settings: db, Jobs: db, Tokens: db, Importer: db,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	svc.AccountMFA = db
	return svc
}

func TestServiceAuthorizationMatchesSpec(t *testing.T) {
	for _, d := range outcomes(t) {
		t.Error(d)
	}
}

// Flipping any cell of the permission table changes some outcome: every rule is checked by the
// service, and checked by the test above.
func TestEveryPermissionRuleIsEnforced(t *testing.T) {
	perms := []mfa.Permission{mfa.PermView, mfa.PermChangeState, mfa.PermManageSettings, mfa.PermBulkUpdate, mfa.PermSaveSettings, mfa.PermAdminister}
	perTarget := map[mfa.Permission]bool{mfa.PermChangeState: true, mfa.PermManageSettings: true, mfa.PermBulkUpdate: true}
	for _, p := range perms {
		for _, r := range mfa.Roles {
			flips := []bool{false}
			if perTarget[p] && mfa.GrantAllowed(p, r) {
				flips = append(flips, true) // the rule on privileged targets
			}
			for _, onPrivileged := range flips {
				restore := mfa.FlipGrant(p, r, onPrivileged)
				diffs := outcomes(t)
				restore()
				if len(diffs) == 0 {
					t.Errorf("flipping %s for %s (on privileged targets: %v) changes no outcome: that rule is not enforced, or not tested", p, r, onPrivileged)
				}
			}
		}
	}
}
