package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func planFile(t *testing.T, svc *mfa.Service, actor mfa.Actor, file string) (*mfa.Job, []mfa.BulkRow) {
	t.Helper()
	job, err := svc.CreateBulkJob(context.Background(), actor, "test.csv", strings.NewReader(file), mfa.DefaultCSVLimits, "")
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	rows, err := svc.BulkJobRows(context.Background(), actor, job.ID, mfa.RowFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return job, rows
}

func runJob(t *testing.T, svc *mfa.Service, id string) *mfa.Job {
	t.Helper()
	r := &mfa.BulkRunner{Service: svc, BatchSize: 2}
	if err := r.RunJob(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	job, _ := svc.Jobs.FindJob(context.Background(), id)
	return job
}

func testBulkPlanRowByRow(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
	file := "\ufeff username ;Extra; MFA STATUS \r\n" +
		"dis@contoso.com;1;Enabled\r\n" + // line 2: enable
		"ENA@contoso.com;2;enforced\r\n" + // line 3: enforce, no methods
		"enf@contoso.com;3;ENFORCED\r\n" + // line 4: already so
		"boss@contoso.com;4;Disabled\r\n" + // line 5: disable an admin
		"ghost@contoso.com;5;Enabled\r\n" + // line 6: unknown user
		"dis@contoso.com;6;Disabled\r\n" + // line 7: duplicate with another status
		"ena@contoso.com;7;Enforced\r\n" + // line 8: duplicate, same status
		"\r\n" +
		"not-a-user;8;Enabled\r\n" + // line 10
		"enf@contoso.com;9;Maybe\r\n" // line 11
	job, rows := planFile(t, svc, admin, file)
	want := []struct {
		line   int
		action mfa.RowAction
		detail string
	}{
		{2, mfa.RowEnable, ""},
		{3, mfa.RowEnforce, "no registered methods"},
		{4, mfa.RowUnchanged, ""},
		{5, mfa.RowDisable, "holds an admin role"},
		{6, mfa.RowError, "unknown user"},
		{7, mfa.RowError, "already on line 2 with status Enabled"},
		{8, mfa.RowUnchanged, "duplicate of line 3"},
		{10, mfa.RowError, "not of the form name@domain"},
		{11, mfa.RowError, `invalid MFA Status "Maybe"`},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		detail := r.Error + strings.Join(r.Warnings, ";")
		if r.Line != w.line || r.Action != w.action || !strings.Contains(detail, w.detail) {
			t.Errorf("row %d: line %d %s %q, want line %d %s %q", i, r.Line, r.Action, detail, w.line, w.action, w.detail)
		}
	}
	if c := job.Counts; c != (mfa.BulkCounts{Enable: 1, Enforce: 1, Disable: 1, Unchanged: 2, Errors: 4}) || job.Total != 3 {
		t.Fatalf("counts %+v total %d", c, job.Total)
	}
	stored, err := db.FindJob(context.Background(), job.ID)
	if err != nil || stored.Counts != job.Counts || stored.Total != 3 || stored.Status != mfa.JobPlanned || stored.Actor != admin || stored.FileName != "test.csv" {
		t.Fatalf("stored job %+v %v", stored, err)
	}
	// The filters of the preview and of the errors file.
	problems, _ := db.JobRows(context.Background(), job.ID, mfa.RowFilter{Problems: true, Limit: 100})
	errs, _ := db.JobRows(context.Background(), job.ID, mfa.RowFilter{Errors: true, Limit: 100})
	after, _ := db.JobRows(context.Background(), job.ID, mfa.RowFilter{AfterSeq: rows[6].Seq, Limit: 100})
	if len(problems) != 7 || len(errs) != 4 || len(after) != 2 || after[0].Line != 10 {
		t.Fatalf("problems %d, errors %d, after %d", len(problems), len(errs), len(after))
	}
	// A file that is not UTF-8 is read as Windows-1252, and the job says so.
	latin, _ := planFile(t, svc, admin, "Username,MFA Status\nj\xf6rg@contoso.com,Enabled\n")
	if stored, _ := db.FindJob(context.Background(), latin.ID); latin.Notice == "" || stored.Notice != latin.Notice {
		t.Fatalf("notice %q, stored %q", latin.Notice, stored.Notice)
	}
	// Going back discards the plan.
	if err := svc.DiscardBulkJob(context.Background(), admin, job.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindJob(context.Background(), job.ID); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Fatalf("discarded job: %v", err)
	}
}

func testBulkApply(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
	ctx := context.Background()
	file := "Username,MFA Status\ndis@contoso.com,Enforced\nena@contoso.com,Disabled\nenf@contoso.com,Enforced\nghost@contoso.com,Enabled\n"
	job, _ := planFile(t, svc, admin, file)
	if _, err := svc.StartBulkJob(ctx, admin, job.ID, "CHG-9"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.StartBulkJob(ctx, admin, job.ID, ""); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("started twice: %v", err)
	}
	if next, err := db.NextJob(ctx); err != nil || next == nil || next.ID != job.ID || next.Status != mfa.JobQueued {
		t.Fatalf("next job: %+v %v", next, err)
	}
	job = runJob(t, svc, job.ID)
	if job.Status != mfa.JobDone || job.Total != 2 || job.Done != 2 || job.Changed != 2 || job.Failed != 0 ||
		!job.StartedAt.Equal(T0) || !job.FinishedAt.Equal(T0) {
		t.Fatalf("job %+v", job)
	}
	if next, err := db.NextJob(ctx); err != nil || next != nil {
		t.Fatalf("next job after the last: %+v %v", next, err)
	}
	if u, _ := db.FindUser(ctx, "dis@contoso.com"); u.State != mfa.StateEnforced {
		t.Fatalf("dis: %s", u.State)
	}
	results, _ := db.JobRows(ctx, job.ID, mfa.RowFilter{Limit: 10})
	if results[0].Outcome != mfa.OutcomeChanged || results[0].Message != "Enforced" || results[2].Outcome != "" {
		t.Fatalf("results %+v", results)
	}
	page, _ := db.FindAudit(ctx, mfa.AuditFilter{Target: "dis@contoso.com", Action: mfa.AuditEnforce, Limit: 10})
	if len(page.Records) != 1 || page.Records[0].Source != "bulk:"+job.ID || page.Records[0].Reason != "CHG-9" || page.Records[0].Action != mfa.AuditEnforce {
		t.Fatalf("audit %+v", page.Records)
	}
	// The same file again: nothing to do, nothing changed, nothing recorded.
	n := auditCount(t, db)
	again, rows := planFile(t, svc, admin, file)
	if again.Total != 0 || again.Counts.Unchanged != 3 || again.Counts.Errors != 1 || rows[0].Action != mfa.RowUnchanged {
		t.Fatalf("second plan %+v", again.Counts)
	}
	svc.StartBulkJob(ctx, admin, again.ID, "")
	if j := runJob(t, svc, again.ID); j.Status != mfa.JobDone || j.Changed != 0 {
		t.Fatalf("second run %+v", j)
	}
	if auditCount(t, db) != n+1 { // only the bulk.start record
		t.Fatalf("the second run recorded changes: %d → %d", n, auditCount(t, db))
	}
	if jobs, err := db.ListJobs(ctx, 10); err != nil || len(jobs) != 2 {
		t.Fatalf("list: %d %v", len(jobs), err)
	}
}

// seedNumbered seeds n users p000@contoso.com... Disabled, and returns a file enabling them all.
func seedNumbered(t *testing.T, db Store, prefix string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("Username,MFA Status\n")
	var users []mfa.User
	for i := range n {
		upn := fmt.Sprintf("%s%04d@contoso.com", prefix, i)
		users = append(users, mfa.User{UPN: upn, DisplayName: fmt.Sprintf("%s %04d", strings.ToUpper(prefix), i), AccountEnabled: true, State: mfa.StateDisabled})
		fmt.Fprintf(&b, "%s,Enabled\n", upn)
	}
	if _, err := db.SeedUsers(context.Background(), slices.Values(users), T0, nil); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func testBulkResumes(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
	ctx := context.Background()
	job, _ := planFile(t, svc, admin, seedNumbered(t, db, "r", 40))
	svc.StartBulkJob(ctx, admin, job.ID, "")
	// The process stops after a few batches (SIGTERM: the context ends between batches).
	stop, cancel := context.WithCancel(ctx)
	calls := 0
	svc.Now = func() time.Time {
		if calls++; calls == 30 {
			cancel()
		}
		return T0
	}
	if err := (&mfa.BulkRunner{Service: svc, BatchSize: 5}).RunJob(stop, job.ID); err != nil {
		t.Fatal(err)
	}
	svc.Now = func() time.Time { return T0 }
	mid, _ := db.FindJob(ctx, job.ID)
	if mid.Status != mfa.JobRunning || mid.Done == 0 || mid.Done == 40 {
		t.Fatalf("paused job %+v", mid)
	}
	// kill -9 after a batch was applied and before its outcomes were stored: rows applied, their
	// outcomes never stored; that batch (12 rows: batches grow) larger than the resumed runner's.
	pending, _ := db.PendingRows(ctx, job.ID, 0, 12)
	for _, row := range pending {
		if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: row.Username, To: mfa.StateEnabled, Source: mfa.SourceBulk(job.ID)}); err != nil {
			t.Fatal(err)
		}
	}
	// A new process resumes the job.
	job = runJob(t, svc, job.ID)
	if job.Status != mfa.JobDone || job.Done != 40 || job.Changed != 40 || job.Unchanged != 0 {
		t.Fatalf("resumed job %+v", job)
	}
	page, _ := db.FindAudit(ctx, mfa.AuditFilter{Action: mfa.AuditEnable, Limit: 100})
	if len(page.Records) != 40 {
		t.Fatalf("%d enable records, want 40 (no row lost or applied twice)", len(page.Records))
	}
	// Outcomes recorded twice (a runner that lost its lease) count once.
	rows, _ := db.JobRows(ctx, job.ID, mfa.RowFilter{Limit: 2})
	if err := db.RecordOutcomes(ctx, job.ID, rows, T0); err != nil {
		t.Fatal(err)
	}
	if j, _ := db.FindJob(ctx, job.ID); j.Done != 40 || j.Changed != 40 {
		t.Fatalf("after recording twice: %+v", j)
	}
	if _, err := svc.VerifyAudit(ctx, mfa.CLIActor); err != nil {
		t.Fatal(err)
	}
}

func testBulkCancel(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
	ctx := context.Background()
	job, _ := planFile(t, svc, admin, "Username,MFA Status\ndis@contoso.com,Enabled\n")
	if _, err := svc.CancelBulkJob(ctx, admin, job.ID); err != nil {
		t.Fatal(err)
	}
	if j, _ := db.FindJob(ctx, job.ID); j.Status != mfa.JobCancelled || !j.CancelRequested {
		t.Fatalf("cancelled planned job: %+v", j)
	}
	if _, err := svc.StartBulkJob(ctx, admin, job.ID, ""); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("start a cancelled job: %v", err)
	}
	if _, err := db.RequestCancel(ctx, job.ID, T0); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("cancel twice: %v", err)
	}
	// A running job is marked, and stops at its next batch.
	job, _ = planFile(t, svc, admin, "Username,MFA Status\ndis@contoso.com,Enabled\nena@contoso.com,Enforced\n")
	svc.StartBulkJob(ctx, admin, job.ID, "")
	if err := db.SetJobStatus(ctx, job.ID, []mfa.JobStatus{mfa.JobQueued}, mfa.JobRunning, T0); err != nil {
		t.Fatal(err)
	}
	if err := db.SetJobStatus(ctx, job.ID, []mfa.JobStatus{mfa.JobQueued}, mfa.JobRunning, T0); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("a move from the wrong status: %v", err)
	}
	if j, err := db.RequestCancel(ctx, job.ID, T0); err != nil || j.Status != mfa.JobRunning || !j.CancelRequested {
		t.Fatalf("cancel a running job: %+v %v", j, err)
	}
	if j := runJob(t, svc, job.ID); j.Status != mfa.JobCancelled || j.Done != 0 {
		t.Fatalf("after the runner: %+v", j)
	}
	if u, _ := db.FindUser(ctx, "dis@contoso.com"); u.State != mfa.StateDisabled {
		t.Fatal("a cancelled job changed a user")
	}
	if err := db.SetJobPaused(ctx, job.ID, "paused: the directory could not be reached", T0); err != nil {
		t.Fatal(err)
	}
	if j, _ := db.FindJob(ctx, job.ID); j.PausedReason == "" {
		t.Fatal("the paused reason was not stored")
	}
}

// A ref's id is only a short cut: when the user with that id no longer has the ref's UPN (renamed
// since the file was verified), the user is found by the UPN the file gave.
func testUpdateUsersRefs(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	all := seedDemo(t, db, 20)
	a, _ := db.FindUser(ctx, all[1].UPN)
	b, _ := db.FindUser(ctx, all[2].UPN)
	refs := []mfa.UserRef{
		{UPN: a.UPN, ID: b.ID},              // b's id, a's name: a is meant
		{UPN: b.UPN, ID: b.ID},              // right
		{UPN: "gone@contoso.com", ID: a.ID}, // a's id, an unknown name: not found
		{UPN: all[3].UPN, ID: "not-an-id"},
	}
	users, errs, err := db.UpdateUsers(ctx, refs, func(i int, u *mfa.User) (*mfa.AuditRecord, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if users[0].UPN != a.UPN || users[1].UPN != b.UPN || mfa.ErrorCode(errs[2]) != mfa.ENOTFOUND || users[3].UPN != all[3].UPN {
		t.Fatalf("users %v errs %v", users, errs)
	}
}

// A user named twice in a batch, or renamed after a state change in it, ends with both changes and
// both versions; a user whose fn fails is left as it was; the records form one chain.
func testUpdateUsersTwice(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	all := seedDemo(t, db, 250)
	before := map[string]*mfa.User{}
	var refs []mfa.UserRef
	for _, u := range all[:230] {
		got, _ := db.FindUser(ctx, u.UPN)
		before[u.UPN] = got
		refs = append(refs, mfa.UserRef{UPN: u.UPN, ID: got.ID})
	}
	refs = append(refs, mfa.UserRef{UPN: all[5].UPN}, mfa.UserRef{UPN: all[6].UPN})
	states := []mfa.State{mfa.StateEnabled, mfa.StateEnforced, mfa.StateDisabled}
	_, errs, err := db.UpdateUsers(ctx, refs, func(i int, u *mfa.User) (*mfa.AuditRecord, error) {
		switch i {
		case 7:
			u.State = mfa.StateEnforced
			return nil, mfa.Errorf(mfa.EINVALID, "refused")
		case 230: // all[5] again
			u.State = mfa.StateEnforced
		case 231: // all[6] renamed after its state change
			u.DisplayName = "Renamed After Hold"
		default:
			u.State = states[i%3]
		}
		return &mfa.AuditRecord{Action: "test", Target: u.UPN}, nil
	})
	if err != nil || mfa.ErrorCode(errs[7]) != mfa.EINVALID {
		t.Fatal(err, errs[7])
	}
	for i, u := range all[:230] {
		got, _ := db.FindUser(ctx, u.UPN)
		want, version := states[i%3], before[u.UPN].Version+1
		switch i {
		case 5:
			want, version = mfa.StateEnforced, version+1
		case 6:
			version++
			if got.DisplayName != "Renamed After Hold" {
				t.Errorf("%s: name %q", u.UPN, got.DisplayName)
			}
		case 7:
			want, version = before[u.UPN].State, version-1
		}
		if got.State != want || got.Version != version {
			t.Fatalf("%s (%d): %s v%d, want %s v%d", u.UPN, i, got.State, got.Version, want, version)
		}
	}
	if n := auditCount(t, db); n != 231 {
		t.Errorf("%d audit records, want 231", n)
	}
	if _, err := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Audit: db, Settings: db, Jobs: db}).VerifyAudit(ctx, mfa.CLIActor); err != nil {
		t.Fatal(err)
	}
	// The counts follow: every view's total against the reference.
	for i := range all[:230] {
		switch i {
		case 5:
			all[i].State = mfa.StateEnforced
		case 6:
			all[i].State, all[i].DisplayName = states[i%3], "Renamed After Hold"
		case 7:
		default:
			all[i].State = states[i%3]
		}
	}
	for _, status := range statuses {
		for _, q := range []string{"", "a", "re", "renamed"} {
			checkPages(t, db, all, mfa.UserFilter{View: mfa.ViewAll, Status: status, Query: q, Limit: 100})
		}
	}
}
