package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func testImportUsers(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Importer: db, Accounts: db, Audit: db, Settings: db, Jobs: db, Now: func() time.Time { return T0 }})
	in := "UserPrincipalName,DisplayName,MFA Status,AccountEnabled,Admin,Methods\n" +
		"ada@contoso.com,Ada Lovelace,Enforced,true,true,microsoftAuthenticatorPush mobilePhone\n" +
		"bob@contoso.com,<script>alert(1)</script>,,false,,\n"
	res, err := svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader(in), mfa.DefaultCSVLimits)
	if err != nil || res.Created != 2 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	ada, err := db.FindUser(ctx, "ADA@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if ada.State != mfa.StateEnforced || !ada.Privileged || !ada.AccountEnabled || len(ada.Methods) != 2 || ada.Version != 1 || !ada.StateReadAt.Equal(T0) {
		t.Fatalf("ada = %+v", ada)
	}
	if d, _ := ada.DefaultMethod(); d != mfa.MethodAuthenticatorPush {
		t.Fatalf("default method %s", d)
	}
	if bob, _ := db.FindUser(ctx, "bob@contoso.com"); bob.DisplayName != "<script>alert(1)</script>" || bob.State != mfa.StateDisabled || bob.AccountEnabled {
		t.Fatalf("bob = %+v", bob)
	}
	// A file with one bad line changes nothing, not even its good lines.
	bad := "UserPrincipalName,DisplayName\nada@contoso.com,Ada King\nnot-a-upn,Nobody\n"
	_, err = svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader(bad), mfa.DefaultCSVLimits)
	var le *mfa.LineErrors
	if !errors.As(err, &le) || le.Total != 1 || le.Errors[0].Line != 3 {
		t.Fatalf("bad import: %v", err)
	}
	if a, _ := db.FindUser(ctx, "ada@contoso.com"); a.DisplayName != "Ada Lovelace" {
		t.Fatalf("bad import changed ada: %q", a.DisplayName)
	}
	// Updating keeps columns the file does not have.
	upd := "UserPrincipalName,DisplayName\nada@contoso.com,Ada King\ncy@contoso.com,Cy New\n"
	res, err = svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader(upd), mfa.DefaultCSVLimits)
	if err != nil || res.Updated != 1 || res.Created != 1 {
		t.Fatalf("update: %+v %v", res, err)
	}
	a, _ := db.FindUser(ctx, "ada@contoso.com")
	if a.DisplayName != "Ada King" || a.State != mfa.StateEnforced || a.Version != 2 || len(a.Methods) != 2 {
		t.Fatalf("after update: %+v", a)
	}
	p, err := db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Query: "king", Limit: 10})
	if err != nil || p.Total != 1 {
		t.Fatalf("search by new name: %+v %v", p, err)
	}
	if p, _ := db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Query: "lovelace", Limit: 10}); p.Total != 0 {
		t.Fatalf("old name still found")
	}
	if n, _ := db.CountUsers(ctx); n != 3 {
		t.Fatalf("%d users, want 3", n)
	}
}

// Seeding into an empty directory is all or nothing; into one with users, in batches; a user name
// taken is ECONFLICT; progress is reported; searches work after either.
func testSeedUsers(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	users := slices.Collect(mfa.DemoUsers(500))
	failed := append(slices.Clone(users[:50]), users[3])
	if _, err := db.SeedUsers(ctx, slices.Values(failed), T0, nil); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("a seed with a duplicate: %v, want ECONFLICT", err)
	}
	if n, err := db.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("after a failed seed: %d users, %v", n, err)
	}
	var reports []int
	n, err := db.SeedUsers(ctx, slices.Values(users[:200]), T0, func(done int) { reports = append(reports, done) })
	if err != nil || n != 200 || len(reports) == 0 || reports[len(reports)-1] != 200 {
		t.Fatalf("seed: %d, %v, progress %v", n, err, reports)
	}
	if n, err := db.SeedUsers(ctx, slices.Values(users[200:]), T0, nil); err != nil || n != 300 {
		t.Fatalf("seed into a directory with users: %d, %v", n, err)
	}
	for _, q := range []string{"", "a", "el", "smi"} {
		checkPages(t, db, users, mfa.UserFilter{View: mfa.ViewAllowed, Query: q, Limit: 100})
		checkPages(t, db, users, mfa.UserFilter{View: mfa.ViewAll, Status: "enabled", Query: q, Limit: 100})
	}
	if _, err := db.SeedUsers(ctx, slices.Values(users[10:11]), T0, nil); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("seeding an existing user: %v", err)
	}
	if n, _ := db.CountUsers(ctx); n != 500 {
		t.Fatalf("%d users, want 500", n)
	}
}

// The look-ups by user name: whole users, and what planning needs.
func testLookUps(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	all := seedDemo(t, db, 30)
	upns := []string{strings.ToUpper(all[0].UPN), " " + all[1].UPN + " ", "ghost@contoso.com"}
	found, err := db.FindUsersByUPN(ctx, upns)
	if err != nil || len(found) != 2 || found[mfa.NormalizeUPN(all[0].UPN)].DisplayName != all[0].DisplayName {
		t.Fatalf("FindUsersByUPN: %v %v", found, err)
	}
	keys := []string{mfa.NormalizeUPN(all[0].UPN), mfa.NormalizeUPN(all[1].UPN), "ghost@contoso.com"}
	plan, err := db.LookupForPlan(ctx, keys)
	if err != nil || len(plan) != 2 {
		t.Fatalf("LookupForPlan: %v %v", plan, err)
	}
	u := found[keys[0]]
	if p := plan[keys[0]]; p.ID != u.ID || p.State != u.State || p.Privileged != u.Privileged || p.HasMethods != u.HasMethods() {
		t.Fatalf("plan user %+v, user %+v", p, u)
	}
	if _, err := db.FindUser(ctx, "ghost@contoso.com"); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Fatalf("FindUser of nobody: %v", err)
	}
	if _, err := db.UpdateUser(ctx, "ghost@contoso.com", func(*mfa.User) (*mfa.AuditRecord, error) { return nil, nil }); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Fatalf("UpdateUser of nobody: %v", err)
	}
}
