package graph

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// bruteForce evaluates, from the emulator's own data and without mfa's evaluation, which policies
// require MFA of the user: those enabled (or report-only) whose grant is MFA alone or the MFA
// authentication strength, for all apps with no location condition, whose users include the user
// and do not exclude them (groups transitively, roles by template).
func bruteForce(e *env, id string, guest bool) (required, reportOnly []string) {
	members := map[string]map[string]bool{}
	inGroup := func(g string) bool {
		if members[g] == nil {
			members[g] = e.emu.TransitiveUserMembers(g)
		}
		return members[g][id]
	}
	roles := map[string]map[string]bool{}
	hasRole := func(r string) bool {
		if roles[r] == nil {
			roles[r] = e.emu.RoleMembers(r)
		}
		return roles[r][id]
	}
	for _, raw := range e.emu.ConditionalAccessPolicies() {
		var p struct {
			DisplayName, State string
			Conditions         struct {
				Locations    *json.RawMessage
				Applications struct{ IncludeApplications, ExcludeApplications []string }
				Users        struct {
					IncludeUsers, ExcludeUsers, IncludeGroups, ExcludeGroups, IncludeRoles, ExcludeRoles []string
				}
			}
			GrantControls struct {
				Operator               string
				BuiltInControls        []string
				AuthenticationStrength *struct{ RequirementsSatisfied string }
			}
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			e.t.Fatal(err)
		}
		g, c, u := p.GrantControls, p.Conditions, p.Conditions.Users
		mfaGrant := slices.Equal(g.BuiltInControls, []string{"mfa"}) || len(g.BuiltInControls) == 0 && g.AuthenticationStrength != nil && g.AuthenticationStrength.RequirementsSatisfied == "mfa"
		everywhere := c.Locations == nil || string(*c.Locations) == "null"
		if !mfaGrant || !everywhere || !slices.Equal(c.Applications.IncludeApplications, []string{"All"}) || len(c.Applications.ExcludeApplications) > 0 {
			continue
		}
		in := slices.Contains(u.IncludeUsers, "All") || slices.Contains(u.IncludeUsers, id) || guest && slices.Contains(u.IncludeUsers, "GuestsOrExternalUsers")
		out := slices.Contains(u.ExcludeUsers, id) || guest && slices.Contains(u.ExcludeUsers, "GuestsOrExternalUsers")
		for _, x := range u.IncludeGroups {
			in = in || inGroup(x)
		}
		for _, x := range u.ExcludeGroups {
			out = out || inGroup(x)
		}
		for _, x := range u.IncludeRoles {
			in = in || hasRole(x)
		}
		for _, x := range u.ExcludeRoles {
			out = out || hasRole(x)
		}
		if !in || out {
			continue
		}
		switch p.State {
		case "enabled":
			required = append(required, p.DisplayName)
		case "enabledForReportingButNotEnforced":
			reportOnly = append(reportOnly, p.DisplayName)
		}
	}
	return required, reportOnly
}

// checkCoverage compares every indexed user's coverage with the brute-force evaluation.
func checkCoverage(e *env, guests map[string]bool) map[mfa.CAStatus]int {
	e.t.Helper()
	ctx := context.Background()
	counts := map[mfa.CAStatus]int{}
	defaults := e.emu.SecurityDefaults()
	for _, id := range e.emu.UserIDs() {
		g, _ := e.emu.User(id)
		u, err := e.dir.FindUser(ctx, g.UPN)
		if err != nil {
			e.t.Fatal(err)
		}
		required, reportOnly := bruteForce(e, id, guests[id])
		want := mfa.Coverage{Status: mfa.CANotRequired, SecurityDefaults: defaults}
		switch {
		case len(required) > 0:
			want.Status, want.Policies = mfa.CARequired, required
		case len(reportOnly) > 0:
			want.Status, want.Policies = mfa.CAReportOnly, reportOnly
		}
		if u.Coverage.Status != want.Status || !slices.Equal(u.Coverage.Policies, want.Policies) || u.Coverage.SecurityDefaults != want.SecurityDefaults {
			e.t.Fatalf("%s: indexed %+v, brute force %+v", g.UPN, u.Coverage, want)
		}
		counts[u.Coverage.Status]++
	}
	return counts
}

// Coverage matches a brute-force evaluation for every user of a seeded tenant (the baseline with its
// break-glass and group exclusions, admins by role, a pilot group nested two deep, report-only
// service accounts, a disabled and a location-limited policy), with guests and more admins; and
// follows the tenant when it changes (a user joins a nested group; security defaults replace the
// policies). The coverage filter counts the same users.
func TestCoverageMatchesBruteForce(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 1500}, nil)
	ids := e.emu.UserIDs()
	guests := map[string]bool{}
	for _, i := range []int{6, 60, 61, 605} { // in the second wave (i%3 == 0), or not
		guests[ids[i]] = true
		if err := e.emu.SetGuest(ids[i], true); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range []int{9, 10, 99} {
		if err := e.emu.SetRoleMember(graphemu.AuthenticationAdministratorTemplateID, ids[i], true); err != nil {
			t.Fatal(err)
		}
	}
	e.sync()
	counts := checkCoverage(e, guests)
	if counts[mfa.CARequired] == 0 || counts[mfa.CAReportOnly] == 0 || counts[mfa.CANotRequired] == 0 {
		t.Fatalf("the seeded tenant should have every status: %v", counts)
	}
	t.Logf("coverage: %v", counts)
	ctx := context.Background()
	for cov, want := range map[mfa.CoverageFilter]int{mfa.CoverageCA: counts[mfa.CARequired], mfa.CoverageNone: counts[mfa.CAReportOnly] + counts[mfa.CANotRequired]} {
		p, err := e.svc.ListUsers(ctx, admin, mfa.UserFilter{View: mfa.ViewAll, Coverage: cov, Limit: 10})
		if err != nil || p.Total != want {
			t.Errorf("coverage=%s: %d users (%v), want %d", cov, p.Total, err, want)
		}
	}
	s, err := e.dir.ConditionalAccess(ctx)
	if err != nil || !s.Read || len(s.Policies) != 6 || !s.RegistrationReport || s.RegistrationNote != "" || s.Problem != "" {
		t.Fatalf("summary: %+v %v", s, err)
	}
	if p := s.Policies[5]; p.Counts || p.WhyNot != "applies in some locations only" {
		t.Errorf("the location-limited policy: %+v", p)
	}
	if p := s.Policies[2]; !p.Counts || p.Targets != "group "+graphemu.GroupPilot {
		t.Errorf("the pilot's policy: %+v", p)
	}

	// A user of the second wave joins Payroll, nested in the pilot: now required.
	var joiner string
	for _, i := range []int{3, 12, 15, 21} {
		if required, _ := bruteForce(e, ids[i], false); len(required) == 0 && !guests[ids[i]] {
			joiner = ids[i]
			break
		}
	}
	if joiner == "" {
		t.Fatal("no uncovered user to add to the pilot")
	}
	if err := e.emu.AddGroupMembers(graphemu.GroupID(graphemu.GroupPayroll), joiner); err != nil {
		t.Fatal(err)
	}
	e.sync()
	checkCoverage(e, guests)
	u, _ := e.emu.User(joiner)
	if got, _ := e.dir.FindUser(ctx, u.UPN); got.Coverage.Status != mfa.CARequired {
		t.Errorf("after joining a nested group: %+v", got.Coverage)
	}

	// Security defaults instead of policies: everyone is covered.
	if err := e.emu.SetConditionalAccessPolicies(); err != nil {
		t.Fatal(err)
	}
	e.emu.SetSecurityDefaults(true)
	e.sync()
	counts = checkCoverage(e, guests)
	if p, err := e.svc.ListUsers(ctx, admin, mfa.UserFilter{View: mfa.ViewAll, Coverage: mfa.CoverageCA, Limit: 1}); err != nil || p.Total != len(ids) {
		t.Errorf("with security defaults: %d covered (%v), want all %d", p.Total, err, len(ids))
	}
}

// Without the Microsoft Entra ID P1/P2 licence the registration report answers 403: the sync reads
// each user's methods instead (the same methods and defaults as the report gave), says so on the
// sync status, and still evaluates coverage; with the licence back, the notice goes.
func TestRegistrationWithoutLicenceFallsBack(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 600}, nil)
	e.sync()
	ctx := context.Background()
	fromReport := map[string][]mfa.Method{}
	for _, id := range e.emu.UserIDs() {
		g, _ := e.emu.User(id)
		u, _ := e.dir.FindUser(ctx, g.UPN)
		fromReport[g.UPN] = u.Methods
	}
	e.emu.SetPremiumLicense(false)
	before := e.emu.Stats()
	e.sync()
	st := e.emu.Stats()
	if steps := st.BatchSteps - before.BatchSteps; steps != 2*600 {
		t.Errorf("%d requests in batches, want a state and methods read per user (1200)", steps)
	}
	status, err := e.dir.SyncStatus(ctx)
	if err != nil || status.LastError != "" || !strings.Contains(status.Notice, "Microsoft Entra ID P1 or P2") ||
		!strings.Contains(status.Notice, graphemu.MsgNoPremiumLicense) {
		t.Fatalf("status: %+v %v", status, err)
	}
	for upn, want := range fromReport {
		u, _ := e.dir.FindUser(ctx, upn)
		if !slices.Equal(u.Methods, want) {
			t.Fatalf("%s: methods %v read one by one, %v from the report", upn, u.Methods, want)
		}
		if !u.Coverage.Known() {
			t.Fatalf("%s: no coverage", upn)
		}
	}
	if s, _ := e.dir.ConditionalAccess(ctx); s.RegistrationReport || !s.Read {
		t.Errorf("summary: %+v", s)
	}
	e.emu.SetPremiumLicense(true)
	e.sync()
	if status, _ := e.dir.SyncStatus(ctx); status.Notice != "" {
		t.Errorf("notice with the licence: %q", status.Notice)
	}
}

// Without the permission to read groups, the sync completes, warns, and keeps each user's coverage
// as last read; without AuditLog.Read.All the registration report is refused and methods are read
// user by user.
func TestCoverageWithoutPermissions(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 300}, nil)
	e.sync()
	ctx := context.Background()
	u, _ := e.emu.User(e.emu.UserIDs()[1]) // in the pilot group
	before, _ := e.dir.FindUser(ctx, u.UPN)
	if before.Coverage.Status != mfa.CARequired {
		t.Fatalf("pilot user: %+v", before.Coverage)
	}
	e.emu.SetRoles([]string{"User.Read.All", "Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod",
		"UserAuthenticationMethod.ReadWrite.All", "RoleManagement.Read.Directory"})
	_ = e.emu.SetConditionalAccessPolicies(e.emu.ConditionalAccessPolicies()[2]) // only the pilot's
	e.sync()
	status, _ := e.dir.SyncStatus(ctx)
	if !strings.Contains(status.LastError, "GroupMember.Read.All") || status.LastSync.IsZero() {
		t.Errorf("status: %+v", status)
	}
	if !strings.Contains(status.Notice, "AuditLog.Read.All") {
		t.Errorf("notice: %q", status.Notice)
	}
	after, _ := e.dir.FindUser(ctx, u.UPN)
	if !slices.Equal(after.Coverage.Policies, before.Coverage.Policies) {
		t.Errorf("coverage kept: %+v, was %+v", after.Coverage, before.Coverage)
	}
	if s, _ := e.dir.ConditionalAccess(ctx); s.Read || len(s.Policies) != 6 || s.Problem == "" {
		t.Errorf("summary kept from the last read: %+v", s)
	}
}

// The administrators' policy names five roles by template id; the seeded tenant has activated only
// Global Administrator (the others have no members). The move page's summary names every one, not
// their ids.
func TestPolicyRolesNamedWithoutMembers(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 50}, nil)
	e.sync()
	s, err := e.dir.ConditionalAccess(context.Background())
	if err != nil || len(s.Policies) != 6 {
		t.Fatalf("summary: %+v %v", s, err)
	}
	want := "role Global Administrator, role Privileged Authentication Administrator, role Authentication Administrator, role Helpdesk Administrator, role User Administrator"
	if got := s.Policies[1].Targets; got != want {
		t.Errorf("the administrators' policy targets %q, want %q", got, want)
	}
}
