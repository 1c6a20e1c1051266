package graph

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// The product against the strict emulator (SPEC §8): bulk, reset and sync with injected 429s, 5xx
// and permanent 400s. Every row is done or failed with Graph's message, nothing refused is tried
// twice, no row is lost or applied twice.

// victims picks every n-th user of the emulator.
func victims(e *env, n int) map[string]graphemu.User {
	out := map[string]graphemu.User{}
	for i, id := range e.emu.UserIDs() {
		if i%n == n/2 {
			out[id], _ = e.emu.User(id)
		}
	}
	return out
}

func refuseFor(users map[string]graphemu.User, method string) func(string, string) bool {
	return func(m, path string) bool {
		if m != method {
			return false
		}
		for id := range users {
			if strings.Contains(path, id) {
				return true
			}
		}
		return false
	}
}

func TestBulkUnderTheStrictContract(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 600}, nil)
	e.sync()
	refused := victims(e, 60)
	e.emu.SetFaults(graphemu.Faults{Rate429: 0.05, Rate5xx: 0.04, Codes5xx: []int{500, 503}, Seed: 5,
		Match:  func(method, path string) bool { return method == "PATCH" || path == "/$batch" },
		Refuse: refuseFor(refused, "PATCH")})
	states := []mfa.State{mfa.StateEnforced, mfa.StateDisabled, mfa.StateEnabled}
	file, want := bulkFile(e, func(i int) mfa.State { return states[i%3] })
	before := e.emu.Stats()
	job := runJob(t, e, file, func(int, error) {})
	st := e.emu.Stats()
	ctx := context.Background()
	rows, err := e.svc.BulkJobRows(ctx, admin, job.ID, mfa.RowFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]graphemu.User{} // the refused users whose row asks for a change
	for _, r := range rows {
		if id := e.userID(r.Username); r.Applies() && refused[id].ID != "" {
			written[id] = refused[id]
		}
	}
	if job.Status != mfa.JobDone || job.Done != job.Total || job.Failed != len(written) || len(written) < 3 ||
		job.Changed+job.Unchanged+job.Failed != job.Total {
		t.Fatalf("job: %+v (%d refused)", job, len(written))
	}
	for _, r := range rows {
		if !r.Applies() {
			continue
		}
		g, _ := e.emu.User(e.userID(r.Username))
		if _, isVictim := refused[g.ID]; isVictim {
			if r.Outcome != mfa.OutcomeError || !strings.Contains(r.Message, graphemu.InjectedRefusalMessage) {
				t.Errorf("refused row %s: %s %q", r.Username, r.Outcome, r.Message)
			}
			continue
		}
		switch w := want[g.ID]; {
		case r.Outcome != mfa.OutcomeChanged && r.Outcome != mfa.OutcomeUnchanged:
			t.Errorf("row %s: %s %q", r.Username, r.Outcome, r.Message)
		case g.State != w && !(w == mfa.StateEnabled && g.State == mfa.StateEnforced):
			t.Errorf("%s is %s in Graph, asked %s (row %s)", r.Username, g.State, w, r.Outcome)
		}
	}
	// A permanent refusal is never tried again; no write is applied twice.
	if n := st.Refused - before.Refused; n != int64(len(written)) {
		t.Errorf("%d refusals for %d refused rows: a refused request was retried", n, len(written))
	}
	if applied := st.WritesApplied - before.WritesApplied; applied != int64(job.Changed) {
		t.Errorf("%d writes applied for %d changed rows", applied, job.Changed)
	}
	if st.Injected429 == before.Injected429 || st.Injected5xx == before.Injected5xx || st.BatchesRefused != 0 {
		t.Errorf("faults not exercised, or a batch refused: %+v", st)
	}
	// The audit log: one record per changed row, a failed one with Graph's message per refusal.
	for id, g := range written {
		page, _ := e.db.FindAudit(ctx, mfa.AuditFilter{Target: g.UPN, Limit: 5})
		if len(page.Records) != 1 || page.Records[0].Outcome != mfa.OutcomeFailed || !strings.Contains(page.Records[0].After, graphemu.InjectedRefusalMessage) {
			t.Errorf("audit of refused %s: %+v", id, page.Records)
		}
	}
	page, _ := e.db.FindAudit(ctx, mfa.AuditFilter{Limit: 1000})
	success := 0
	for _, r := range page.Records {
		if r.Source == mfa.SourceBulk(job.ID) && r.Outcome == mfa.OutcomeSuccess && r.Action != mfa.AuditBulkStart {
			success++
		}
	}
	if success != job.Changed {
		t.Errorf("%d success records for %d changed rows", success, job.Changed)

	}
	t.Logf("job: %d rows: %d changed, %d unchanged, %d failed; Graph: %d 429 and %d 5xx injected, %d refused",
		job.Total, job.Changed, job.Unchanged, job.Failed, st.Injected429-before.Injected429, st.Injected5xx-before.Injected5xx, st.Refused-before.Refused)
}

func (e *env) userID(upn string) string {
	for _, id := range e.emu.UserIDs() {
		if u, _ := e.emu.User(id); strings.EqualFold(u.UPN, upn) {
			return id
		}
	}
	e.t.Fatalf("no user %s", upn)
	return ""
}

// "Provide contact methods again" under the default-method rule, with system-preferred MFA on (the
// emulator's default): every method but the password goes, whatever the default and its kind; when
// Graph keeps one, the user's outcome, the error and the audit record name it with Graph's message.
func TestResetUnderTheDefaultRule(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 5}, nil)
	ctx := context.Background()
	users := map[string][]mfa.Method{
		// The alternate mobile phone is the default and a mobile phone remains: the default moves first.
		"alternate@contoso.com": {{Type: mfa.MethodAlternateMobilePhone, IsDefault: true}, {Type: mfa.MethodMobilePhone},
			{Type: mfa.MethodOfficePhone}, {Type: mfa.MethodEmail}},
		// signInPreferences says "oath": the default is the hardware token, listed after the software one.
		"two.oath@contoso.com": {{Type: mfa.MethodSoftwareOTP}, {Type: mfa.MethodHardwareOTP, IsDefault: true},
			{Type: mfa.MethodAuthenticatorPush}, {Type: mfa.MethodFIDO2}},
		// Only a hardware token (beta only: v1.0 lists never show it).
		"hardware@contoso.com": {{Type: mfa.MethodHardwareOTP, IsDefault: true}},
		// Graph refuses to delete the security key: it keeps it, and so the default.
		"kept@contoso.com": {{Type: mfa.MethodAuthenticatorPush, IsDefault: true}, {Type: mfa.MethodFIDO2}, {Type: mfa.MethodMobilePhone}},
	}
	ids := map[string]string{}
	for upn, ms := range users {
		id, err := e.emu.AddUser(mfa.User{UPN: upn, DisplayName: upn, AccountEnabled: true, State: mfa.StateEnforced, Methods: ms})
		if err != nil {
			t.Fatal(err)
		}
		ids[upn] = id
	}
	e.sync()
	e.emu.SetFaults(graphemu.Faults{Refuse: func(method, path string) bool {
		return method == "DELETE" && strings.Contains(path, ids["kept@contoso.com"]) && strings.Contains(path, "/fido2Methods/")
	}})
	var targets []mfa.Target
	for upn := range users {
		targets = append(targets, mfa.Target{UPN: upn})
	}
	res, err := e.svc.ApplyReset(ctx, admin, mfa.ResetOptions{ContactMethods: true}, targets, "", "page", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		g, _ := e.emu.User(ids[r.UPN])
		if r.UPN != "kept@contoso.com" {
			if r.Outcome != mfa.OutcomeChanged || len(g.Methods) != 0 {
				t.Errorf("%s: %s %q; Graph keeps %v", r.UPN, r.Outcome, r.Message, g.Methods)
			}
			continue
		}
		// Graph kept the security key and, while it stays, the default.
		if r.Outcome != mfa.OutcomeError || !strings.Contains(r.Message, "kept") || !strings.Contains(r.Message, mfa.MethodFIDO2.Label()) ||
			!strings.Contains(r.Message, mfa.MethodAuthenticatorPush.Label()) || !strings.Contains(r.Message, graphemu.InjectedRefusalMessage) {
			t.Errorf("kept: %s %q", r.Outcome, r.Message)
		}
		if len(g.Methods) != 2 {
			t.Errorf("kept: Graph has %v, want the key and the default", g.Methods)
		}
		page, _ := e.db.FindAudit(ctx, mfa.AuditFilter{Target: r.UPN, Limit: 5})
		if len(page.Records) != 1 || page.Records[0].Outcome != mfa.OutcomeFailed || !strings.Contains(page.Records[0].After, graphemu.InjectedRefusalMessage) {
			t.Errorf("kept: audit %+v", page.Records)
		}
		u, _ := e.dir.FindUser(ctx, r.UPN)
		if len(u.Methods) != 2 {
			t.Errorf("kept: index has %v, want what Graph kept", u.Methods)
		}
	}
	if st := e.emu.Stats(); st.Refused != 1 || st.BatchesRefused != 0 {
		t.Errorf("the refused delete was tried %d times (batches refused: %d)", st.Refused, st.BatchesRefused)
	}
}

// The sync under injected 429s, 5xx and one user whose reads Graph refuses for good: every other
// user is indexed as Graph has them, the refused one keeps its last state, and the refused request
// is sent once.
func TestSyncUnderTheStrictContract(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 700}, nil)
	e.sync()
	ctx := context.Background()
	refused := victims(e, 350)
	for id := range refused {
		_ = e.emu.SetUserState(id, mfa.StateEnforced)
	}
	e.emu.SetFaults(graphemu.Faults{Rate429: 0.05, Rate5xx: 0.05, Seed: 9, RetryAfter: time.Second, Refuse: refuseFor(refused, "GET")})
	before := e.emu.Stats()
	e.sync()
	for _, id := range e.emu.UserIDs() {
		g, _ := e.emu.User(id)
		u, err := e.dir.FindUser(ctx, g.UPN)
		if err != nil {
			t.Fatalf("%s: %v", g.UPN, err)
		}
		_, isVictim := refused[id]
		if isVictim == (u.State == g.State) {
			t.Errorf("%s: index %s, Graph %s (refused: %v)", g.UPN, u.State, g.State, isVictim)
		}
	}
	if st := e.emu.Stats(); st.Refused-before.Refused != int64(len(refused)) { // GET requirements (the methods: the registration report)
		t.Errorf("%d refusals for %d users", st.Refused-before.Refused, len(refused))
	}
}

// Bad answers from Graph (not JSON, a $batch answer missing items or naming unknown ones, a
// Retry-After of "abc" or 10,000 seconds): the job ends with every row done or failed, in bounded
// time, nothing lost.
func TestBadAnswersFromGraph(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 300}, func(c *Config) { c.MaxRetryWait = 200 * time.Millisecond })
	e.sync()
	for k, f := range []graphemu.Faults{
		{RateNonJSON: 0.2, Seed: 1},
		{RateMissingItem: 0.1, RateUnknownID: 0.1, Seed: 2},
		{Rate429: 0.1, RetryAfterValue: "abc", Seed: 3},
		{Rate429: 0.1, RetryAfterValue: "10000", Seed: 4},
	} {
		e.emu.SetFaults(f)
		file, want := bulkFile(e, func(i int) mfa.State { return []mfa.State{mfa.StateDisabled, mfa.StateEnforced}[(i+k)%2] })
		start := time.Now()
		job := runJob(t, e, file, func(int, error) {})
		if job.Status != mfa.JobDone || job.Done != job.Total || job.Total < 100 || job.Changed+job.Unchanged+job.Failed != job.Total {
			t.Fatalf("%+v: job %+v", f, job)
		}
		if time.Since(start) > time.Minute {
			t.Errorf("%+v: %v", f, time.Since(start))
		}
		for id, st := range want {
			if got, _ := e.emu.UserState(id); got != st && job.Failed == 0 {
				t.Fatalf("%+v: %s is %s, asked %s", f, id, got, st)
			}
		}
		st := e.emu.Stats()
		t.Logf("%+v: %d rows: %d changed, %d unchanged, %d failed in %v; Graph: %+v", f, job.Total, job.Changed, job.Unchanged, job.Failed, time.Since(start).Round(time.Millisecond), st)
		if k == 0 && st.NonJSON == 0 || k == 1 && st.ItemsMangled == 0 || k >= 2 && st.Injected429 == 0 {
			t.Errorf("%+v: the fault was not exercised", f)
		}
	}
}

// The pacer knows the tenant-size tiers: after a sync the resource-unit quota it paces under is the
// one for the tenant's size.
func TestPacerLearnsTheTenantSize(t *testing.T) {
	for _, tc := range []struct{ users, units int }{{30, 3500}, {120, 5000}, {600, 8000}} {
		e := newEnv(t, graphemu.Options{Users: tc.users}, nil)
		if got := e.dir.c.pace.readRate(); got != 3500*0.97/10 {
			t.Errorf("before the first sync: %.1f units/s", got)
		}
		e.sync()
		if got, want := e.dir.c.pace.readRate(), float64(tc.units)*0.97/10; got != want {
			t.Errorf("%d users: paced at %.1f units/s, want %.1f", tc.users, got, want)
		}
		// A restart knows it from the index.
		d, err := New(e.cfg, e.db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := d.c.pace.readRate(), float64(tc.units)*0.97/10; got != want {
			t.Errorf("%d users, restarted: %.1f units/s, want %.1f", tc.users, got, want)
		}
		d.Close()
	}
}

// A write whose answer never came (the run stopped: Graph unreachable after it was applied) is not
// counted "unchanged" when the job resumes and reads the user in the state asked: it is counted
// changed, recorded once, and not written again.
func TestLostAnswerIsCountedOnce(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 40}, nil)
	e.sync()
	ctx := context.Background()
	g := e.findUser(func(u graphemu.User) bool { return u.State == mfa.StateDisabled })
	// As left by a run that sent the PATCH and stopped before its answer: Graph applied it.
	if err := e.db.SetMeta(ctx, unsureKey(g.UPN), string(mfa.StateDisabled)); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.SetUserState(g.ID, mfa.StateEnforced); err != nil {
		t.Fatal(err)
	}
	before := e.emu.Stats()
	job := runJob(t, e, "Username,MFA Status\n"+g.UPN+",Enforced\n", func(int, error) {})
	if job.Changed != 1 || job.Unchanged != 0 || job.Failed != 0 {
		t.Fatalf("job %+v", job)
	}
	if st := e.emu.Stats(); st.WritesApplied != before.WritesApplied {
		t.Errorf("written again: %d writes", st.WritesApplied-before.WritesApplied)
	}
	page, _ := e.db.FindAudit(ctx, mfa.AuditFilter{Target: g.UPN, Limit: 5})
	if len(page.Records) != 1 || page.Records[0].Before != "Disabled" || page.Records[0].After != "Enforced" {
		t.Errorf("audit: %+v", page.Records)
	}
}
