// Package storetest is the store conformance suite: one set of tests of the behaviour the mfa
// interfaces promise, run against every store of the portal (mfa/sqlite, mfa/postgres), so that
// both behave alike. A store's tests call Run with a function that opens an empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store { return openTest(t) })
//	}
package storetest

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// Store is every interface a store of the portal serves.
type Store interface {
	mfa.Directory
	mfa.UserImporter
	mfa.UserLookup
	mfa.PlanLookup
	mfa.BatchUpdater
	mfa.AccountStore
	mfa.SessionStore
	mfa.TokenStore
	mfa.AuditLog
	mfa.SettingsStore
	mfa.JobStore
	mfa.LeaseStore
	mfa.WorkRequestStore
	mfa.ThrottleStore
	mfa.RegistrationStore
	mfa.NotifyStore
	mfa.ExemptionStore
	mfa.OverviewStore
	mfa.ExternalIndex
	mfa.AuditPositions
	mfa.SecurityStore
	mfa.AccountMFAStore
	// UseAuditKey makes the store seal audit records under key (re-chaining a legacy log once);
	// AuditKey is that key.
	UseAuditKey(ctx context.Context, key []byte, now time.Time) (int64, error)
	AuditKey() []byte
	// OnAudited sets a function called after each commit that appended audit records.
	OnAudited(fn func())
	mfa.StepResultStore
	// SeedUsers inserts users (the demo tenant); all or nothing into an empty directory.
	SeedUsers(ctx context.Context, users iter.Seq[mfa.User], now time.Time, progress func(done int)) (int, error)
	// CountUsers is the number of users.
	CountUsers(ctx context.Context) (int, error)
	// Meta and SetMeta keep the portal's own small values.
	Meta(ctx context.Context, key string) (string, error)
	SetMeta(ctx context.Context, key, value string) error
	// DeleteMeta removes values (those not there are fine).
	DeleteMeta(ctx context.Context, keys ...string) error
}

// Opener opens an empty store for a test; the store is closed when the test ends.
type Opener func(t *testing.T) Store

// Run runs the whole suite, each test on a store of its own.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"FindUsersPagesEveryFilter", testFindUsersPagesEveryFilter},
		{"FindUsersShortPrefixes", testFindUsersShortPrefixes},
		{"FindUsersBadCursor", testFindUsersBadCursor},
		{"FindUsersAfterChanges", testFindUsersAfterChanges},
		{"FindUsersEveryCombination", testFindUsersEveryCombination},
		{"FindUsersCursorOfAnotherSort", testFindUsersCursorOfAnotherSort},
		{"ImportUsersAllOrNothingAndUpdate", testImportUsers},
		{"SeedUsers", testSeedUsers},
		{"LookUps", testLookUps},
		{"SetStateRulesAndAudit", testSetStateRulesAndAudit},
		{"ResetUser", testResetUser},
		{"ApplyStepReportsEachUser", testApplyStep},
		{"AuditFilters", testAuditFilters},
		{"Settings", testSettings},
		{"AccountsAndSessions", testAccountsAndSessions},
		{"Tokens", testTokens},
		{"Meta", testMeta},
		{"ThrottleCounters", testThrottleCounters},
		{"StepResults", testStepResults},
		{"BulkPlanRowByRow", testBulkPlanRowByRow},
		{"BulkApplyIsIdempotentAndAudited", testBulkApply},
		{"BulkResumesWithoutLosingOrRepeatingRows", testBulkResumes},
		{"BulkCancel", testBulkCancel},
		{"UpdateUsersIDIsOnlyAShortCut", testUpdateUsersRefs},
		{"UpdateUsersSameUserTwice", testUpdateUsersTwice},
		{"Leases", testLeases},
		{"LeaseFencesWrites", testLeaseFences},
		{"LeaseHolder", testLeaseHolder},
		{"EnabledAtOnEveryWriter", testEnabledAtOnEveryWriter},
		{"AwaitingRegistrationBadCursor", testAwaitingRegistrationBadCursor},
		{"Exemptions", testExemptions},
		{"ExemptionEndedByStateChange", testExemptionEndedByStateChange},
		{"UndoBulkUpdate", testUndoBulkUpdate},
		{"NotifyTemplate", testNotifyTemplate},
		{"Overview", testOverview},
		{"ExternalIndex", testExternalIndex},
		{"ExternalIndexNamesChangeHands", testExternalIndexNames},
		{"SyncState", testSyncState},
		{"AuditPositions", testAuditPositions},
		{"CoverageKept", testCoverageKept},
		{"IndexMethodsFromReport", testIndexMethodsFromReport},
		{"FindUsersCoverageCombinations", testFindUsersCoverageCombinations},
		{"WorkRequests", testWorkRequests},
		{"SetupLink", testSetupLink},
		{"UserSignIn", testUserSignIn},
		{"ImportIsAudited", testImportIsAudited},
		{"AppPasswords", testAppPasswords},
		{"MethodsAndAdminReset", testMethodsAndAdminReset},
		{"RememberedDevicesAndTrustedIPs", testRememberedDevicesAndTrustedIPs},
		{"RegistrationWithTheApp", testRegistrationWithTheApp},
		{"RegistrationWithAPhone", testRegistrationWithAPhone},
		{"ReenabledUserRegistersAgain", testReenabledUserRegistersAgain},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// TwinOpener opens two handles on one empty store, as two replicas sharing it have; both are
// closed when the test ends.
type TwinOpener func(t *testing.T) (Store, Store)

// RunReplicas runs the tests of what replicas sharing a store must agree on, each on a store of
// its own opened twice.
func RunReplicas(t *testing.T, open TwinOpener) {
	tests := []struct {
		name string
		fn   func(*testing.T, TwinOpener)
	}{
		{"ThrottleUpdatesAreAtomic", testThrottleUpdatesAreAtomic},
		{"AuditKeyRechains", testAuditKeyRechains},
		{"AuditKeyOfAnEmptyLog", testAuditKeyOfAnEmptyLog},
		{"AuditOneChain", testAuditOneChain},
		{"AuditStreamFollowsTheLog", testAuditStreamFollowsTheLog},
		{"StepClaimOnceAcrossReplicas", testStepClaimOnceAcrossReplicas},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// T0 is the time of the tests' clock.
var T0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

var (
	admin    = mfa.Actor{Name: "alice", Role: mfa.RoleGlobalAdmin, Method: "local", IP: "127.0.0.1"}
	authAdm  = mfa.Actor{Name: "aaron", Role: mfa.RoleAuthAdmin, Method: "local"}
	helpdesk = mfa.Actor{Name: "hugo", Role: mfa.RoleHelpdesk, Method: "local"}
	reader   = mfa.Actor{Name: "rita", Role: mfa.RoleReader, Method: "local"}
)

// seedDemo seeds n demo users and returns them.
func seedDemo(t testing.TB, db Store, n int) []mfa.User {
	t.Helper()
	all := slices.Collect(mfa.DemoUsers(n))
	if _, err := db.SeedUsers(context.Background(), slices.Values(all), T0, nil); err != nil {
		t.Fatal(err)
	}
	return all
}

// newService is a service over the store with four imported users: dis (Disabled, with a method),
// ena (Enabled), enf (Enforced), boss (Enabled, an admin).
func newService(t *testing.T, db Store) *mfa.Service {
	t.Helper()
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Importer: db, Accounts: db, Tokens: db, Audit: db, Settings: db, Jobs: db, Now: func() time.Time { return T0 }})
	in := "UserPrincipalName,DisplayName,MFA Status,Admin,Methods\n" +
		"dis@contoso.com,Dis Abled,Disabled,false,mobilePhone\n" +
		"ena@contoso.com,Ena Bled,Enabled,false,\n" +
		"enf@contoso.com,Enf Orced,Enforced,false,microsoftAuthenticatorPush\n" +
		"boss@contoso.com,Big Boss,Enabled,true,\n"
	if _, err := svc.ImportUsers(context.Background(), mfa.CLIActor, strings.NewReader(in), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	return svc
}

func auditCount(t *testing.T, db Store) int {
	t.Helper()
	n := 0
	if err := db.EachAudit(context.Background(), 0, func(*mfa.AuditRecord) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// matches is the reference implementation of a filter, over a slice.
func matches(u mfa.User, f mfa.UserFilter) bool {
	if f.View == mfa.ViewAllowed && !u.AccountEnabled || f.View == mfa.ViewBlocked && u.AccountEnabled {
		return false
	}
	if f.Status != mfa.StatusAny && u.State != mfa.State(f.Status) {
		return false
	}
	if q := mfa.Fold(f.Query); q != "" {
		for _, term := range mfa.SearchTerms(u.DisplayName, u.UPN) {
			if strings.HasPrefix(term, q) {
				return true
			}
		}
		return false
	}
	return true
}

// checkPages walks every page of f forwards and checks it against the reference over all: every
// matching user once, in display-name then id order, the total right.
func checkPages(t *testing.T, db Store, all []mfa.User, f mfa.UserFilter) {
	t.Helper()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, u := range all {
		if matches(u, f) {
			want = append(want, mfa.NormalizeUPN(u.UPN))
		}
	}
	var got []string
	lastKey, lastID := "", 0
	for {
		p, err := db.FindUsers(context.Background(), f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		if p.Total != len(want) {
			t.Fatalf("view=%s status=%s q=%q: total %d, want %d", f.View, f.Status, f.Query, p.Total, len(want))
		}
		for _, u := range p.Users {
			k, id := mfa.Fold(u.DisplayName), 0
			fmt.Sscan(u.ID, &id)
			if k < lastKey || k == lastKey && id <= lastID {
				t.Fatalf("q=%q: %q (%d) after %q (%d): not sorted", f.Query, k, id, lastKey, lastID)
			}
			lastKey, lastID = k, id
			got = append(got, mfa.NormalizeUPN(u.UPN))
		}
		if p.NextCursor == "" {
			break
		}
		f.After = p.NextCursor
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("view=%s status=%s q=%q: got %d users, want %d", f.View, f.Status, f.Query, len(got), len(want))
	}
}
