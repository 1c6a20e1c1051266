package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func bulkService(t *testing.T) (*mfa.Service, *DB) {
	svc, db := newService(t)
	svc.Jobs = db
	return svc, db
}

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

func TestBulkPlanRowByRow(t *testing.T) {
	svc, _ := bulkService(t)
	file := "\ufeffUser Name ,Extra,mfa status\r\n" + // header names: case and spaces ignored? "User Name" is not "Username"
		"x,y,z\r\n"
	if _, err := svc.CreateBulkJob(context.Background(), admin, "f.csv", strings.NewReader(file), mfa.DefaultCSVLimits, ""); err == nil ||
		!strings.Contains(err.Error(), `"Username" and "MFA Status"`) {
		t.Fatalf("wrong header: %v", err)
	}
	file = "\ufeff username ;Extra; MFA STATUS \r\n" +
		"dis@contoso.com;1;Enabled\r\n" + // line 2: enable
		"ENA@contoso.com;2;enforced\r\n" + // line 3: enforce, no methods
		"enf@contoso.com;3;ENFORCED\r\n" + // line 4: already so
		"boss@contoso.com;4;Disabled\r\n" + // line 5: disable an admin
		"ghost@contoso.com;5;Enabled\r\n" + // line 6: unknown user
		"dis@contoso.com;6;Disabled\r\n" + // line 7: duplicate with another status
		"ena@contoso.com;7;Enforced\r\n" + // line 8: duplicate, same status
		"\r\n" + // blank
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
	// An authentication admin's rows on admins are errors.
	_, rows = planFile(t, svc, authAdm, "Username,MFA Status\nboss@contoso.com,Disabled\n")
	if rows[0].Action != mfa.RowError || !strings.Contains(rows[0].Error, "may not change") {
		t.Fatalf("auth admin on admin: %+v", rows[0])
	}
	// Helpdesk and reader cannot plan at all.
	for _, a := range []mfa.Actor{helpdesk, reader} {
		if _, err := svc.CreateBulkJob(context.Background(), a, "f", strings.NewReader("Username,MFA Status\n"), mfa.DefaultCSVLimits, ""); mfa.ErrorCode(err) != mfa.EFORBIDDEN {
			t.Errorf("%s: %v", a.Role, err)
		}
	}
}

func TestBulkRefusesWholeFiles(t *testing.T) {
	svc, db := bulkService(t)
	for name, file := range map[string]string{
		"empty":                "",
		"header only":          "Username,MFA Status\n",
		"no status":            "Username,Status\nada@contoso.com,Enabled\n",
		"binary":               "PK\x03\x04\x00\x00binary",
		"UTF-16 without a BOM": "U\x00s\x00e\x00r\x00\n\x00",
	} {
		_, err := svc.CreateBulkJob(context.Background(), admin, name, strings.NewReader(file), mfa.DefaultCSVLimits, "")
		if err == nil || mfa.ErrorMessage(err) == "" || mfa.ErrorCode(err) == mfa.EINTERNAL {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err := svc.CreateBulkJob(context.Background(), admin, "big", strings.NewReader("Username,MFA Status\n"+strings.Repeat("a@contoso.com,Enabled\n", 20)), mfa.CSVLimits{MaxBytes: 100}, "")
	if mfa.ErrorCode(err) != mfa.ETOOLARGE {
		t.Errorf("too large: %v", err)
	}
	jobs, _ := db.ListJobs(context.Background(), 10)
	if len(jobs) != 0 {
		t.Fatalf("a refused file left a job: %d", len(jobs))
	}
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

func TestBulkApplyIsIdempotentAndAudited(t *testing.T) {
	svc, db := bulkService(t)
	ctx := context.Background()
	file := "Username,MFA Status\ndis@contoso.com,Enforced\nena@contoso.com,Disabled\nenf@contoso.com,Enforced\nghost@contoso.com,Enabled\n"
	job, _ := planFile(t, svc, admin, file)
	if _, err := svc.StartBulkJob(ctx, admin, job.ID, "CHG-9"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.StartBulkJob(ctx, admin, job.ID, ""); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("started twice: %v", err)
	}
	job = runJob(t, svc, job.ID)
	if job.Status != mfa.JobDone || job.Total != 2 || job.Done != 2 || job.Changed != 2 || job.Failed != 0 {
		t.Fatalf("job %+v", job)
	}
	if u, _ := db.FindUser(ctx, "dis@contoso.com"); u.State != mfa.StateEnforced {
		t.Fatalf("dis: %s", u.State)
	}
	page, _ := db.FindAudit(ctx, mfa.AuditFilter{Target: "dis@contoso.com", Action: mfa.AuditEnforce, Limit: 10})
	if len(page.Records) != 1 || page.Records[0].Source != "bulk:"+job.ID || page.Records[0].Reason != "CHG-9" || page.Records[0].Action != mfa.AuditEnforce {
		t.Fatalf("audit %+v", *page.Records[0])
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
}

func TestBulkResumesWithoutLosingOrRepeatingRows(t *testing.T) {
	svc, db := bulkService(t)
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("Username,MFA Status\n")
	var users []mfa.User
	for i := range 40 {
		users = append(users, mfa.User{UPN: fmt.Sprintf("r%02d@contoso.com", i), DisplayName: fmt.Sprintf("R %02d", i), AccountEnabled: true, State: mfa.StateDisabled})
		fmt.Fprintf(&b, "r%02d@contoso.com,Enabled\n", i)
	}
	if _, err := db.SeedUsers(ctx, sliceSeq(users), t0, nil); err != nil {
		t.Fatal(err)
	}
	job, _ := planFile(t, svc, admin, b.String())
	svc.StartBulkJob(ctx, admin, job.ID, "")

	// The process stops after a few batches (SIGTERM: the context ends between batches).
	stop, cancel := context.WithCancel(ctx)
	r := &mfa.BulkRunner{Service: svc, BatchSize: 5}
	calls := 0
	svc.Now = func() time.Time {
		calls++
		if calls == 30 {
			cancel()
		}
		return t0
	}
	if err := r.RunJob(stop, job.ID); err != nil {
		t.Fatal(err)
	}
	svc.Now = func() time.Time { return t0 }
	mid, _ := db.FindJob(ctx, job.ID)
	if mid.Status != mfa.JobRunning || mid.Done == 0 || mid.Done == 40 {
		t.Fatalf("paused job %+v", mid)
	}
	// kill -9 in the middle of a batch: a row applied, its outcome never stored.
	pending, _ := db.PendingRows(ctx, job.ID, 0, 1)
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: pending[0].Username, To: mfa.StateEnabled, Source: mfa.SourceBulk(job.ID)}); err != nil {
		t.Fatal(err)
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
	if _, err := svc.VerifyAudit(ctx, mfa.CLIActor); err != nil {
		t.Fatal(err)
	}
}

func TestBulkCancel(t *testing.T) {
	svc, db := bulkService(t)
	ctx := context.Background()
	job, _ := planFile(t, svc, admin, "Username,MFA Status\ndis@contoso.com,Enabled\n")
	if _, err := svc.CancelBulkJob(ctx, admin, job.ID); err != nil {
		t.Fatal(err)
	}
	if j, _ := db.FindJob(ctx, job.ID); j.Status != mfa.JobCancelled {
		t.Fatalf("cancelled planned job: %s", j.Status)
	}
	if _, err := svc.StartBulkJob(ctx, admin, job.ID, ""); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("start a cancelled job: %v", err)
	}
	if u, _ := db.FindUser(ctx, "dis@contoso.com"); u.State != mfa.StateDisabled {
		t.Fatal("a cancelled job changed a user")
	}
}

// flakyDirectory is the embedded directory whose batch updates fail while down is set, like a
// directory backend that cannot be reached.
type flakyDirectory struct {
	*DB
	down bool
}

func (f *flakyDirectory) UpdateUsers(ctx context.Context, refs []mfa.UserRef, fn func(int, *mfa.User) (*mfa.AuditRecord, error)) ([]*mfa.User, []error, error) {
	if f.down {
		return nil, nil, mfa.Errorf(mfa.EUNAVAILABLE, "the directory could not be reached")
	}
	return f.DB.UpdateUsers(ctx, refs, fn)
}

func TestBulkPausesWhileTheDirectoryIsDown(t *testing.T) {
	svc, db := bulkService(t)
	ctx := context.Background()
	flaky := &flakyDirectory{DB: db, down: true}
	svc = withDirectory(svc, flaky)
	job, _ := planFile(t, svc, admin, "Username,MFA Status\ndis@contoso.com,Enabled\nena@contoso.com,Disabled\n")
	svc.StartBulkJob(ctx, admin, job.ID, "")
	r := &mfa.BulkRunner{Service: svc, BatchSize: 10}
	if err := r.RunJob(ctx, job.ID); err == nil {
		t.Fatal("a job ran while the directory was down")
	}
	j, _ := db.FindJob(ctx, job.ID)
	if j.Status != mfa.JobRunning || j.Done != 0 || !strings.Contains(j.PausedReason, "could not be reached") {
		t.Fatalf("paused job %+v", j)
	}
	if u, _ := db.FindUser(ctx, "dis@contoso.com"); u.State != mfa.StateDisabled {
		t.Fatal("a row was applied while the directory was down")
	}
	flaky.down = false
	if err := r.RunJob(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	j, _ = db.FindJob(ctx, job.ID)
	if j.Status != mfa.JobDone || j.Changed != 2 || j.PausedReason != "" {
		t.Fatalf("resumed job %+v", j)
	}
}

// The runner's next batch is found from its position along the primary key, never by walking the
// rows already applied (which made a million-row job quadratic).
func TestPendingRowsStartAtTheirPosition(t *testing.T) {
	db := openTest(t)
	rows, err := db.db.Query("EXPLAIN QUERY PLAN "+pendingRowsQuery, "j", 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		rows.Scan(&id, &parent, &unused, &detail)
		plan = append(plan, detail)
	}
	if got := strings.Join(plan, "\n"); !strings.Contains(got, "PRIMARY KEY (job_id=? AND seq>?)") || strings.Contains(got, "TEMP B-TREE") {
		t.Errorf("plan:\n%s", got)
	}
}

// A ref's id is only a short cut: when the user with that id no longer has the ref's UPN (renamed
// since the file was verified), the user is found by the UPN the file gave.
func TestUpdateUsersIDIsOnlyAShortCut(t *testing.T) {
	db := openTest(t)
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
	var seen []string
	users, errs, err := db.UpdateUsers(ctx, refs, func(i int, u *mfa.User) (*mfa.AuditRecord, error) {
		seen = append(seen, u.UPN)
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if users[0].UPN != a.UPN || users[1].UPN != b.UPN || mfa.ErrorCode(errs[2]) != mfa.ENOTFOUND || users[3].UPN != all[3].UPN {
		t.Fatalf("users %v errs %v (fn saw %v)", users, errs, seen)
	}
}

// batchSizes records the batch sizes the runner asks for.
type batchSizes struct {
	*DB
	limits []int
}

func (b *batchSizes) PendingRows(ctx context.Context, id string, after int64, limit int) ([]mfa.BulkRow, error) {
	b.limits = append(b.limits, limit)
	return b.DB.PendingRows(ctx, id, after, limit)
}

// With BatchTime the runner sizes its batches by how long they take: a batch slower than the target
// shrinks the next (down to 100 rows), a faster one grows it (at most doubling, up to BatchSize).
func TestBatchesAreSizedByTime(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target time.Duration
		want   []int
	}{
		// The second batch is read while the first is applied, at the size before: sizes follow
		// one batch behind.
		{"slower than the target", time.Nanosecond, []int{1000, 1000, 100, 100}},
		{"faster than the target", time.Hour, []int{1000, 1000, 2000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, db := bulkService(t)
			ctx := context.Background()
			var b strings.Builder
			b.WriteString("Username,MFA Status\n")
			var users []mfa.User
			for i := range 3200 {
				users = append(users, mfa.User{UPN: fmt.Sprintf("s%04d@contoso.com", i), DisplayName: fmt.Sprintf("S %04d", i), AccountEnabled: true, State: mfa.StateDisabled})
				fmt.Fprintf(&b, "s%04d@contoso.com,Enabled\n", i)
			}
			if _, err := db.SeedUsers(ctx, sliceSeq(users), t0, nil); err != nil {
				t.Fatal(err)
			}
			job, _ := planFile(t, svc, admin, b.String())
			if _, err := svc.StartBulkJob(ctx, admin, job.ID, ""); err != nil {
				t.Fatal(err)
			}
			sizes := &batchSizes{DB: db}
			svc.Jobs = sizes
			if err := (&mfa.BulkRunner{Service: svc, BatchSize: 2500, BatchTime: tc.target}).RunJob(ctx, job.ID); err != nil {
				t.Fatal(err)
			}
			if got := sizes.limits[:len(tc.want)]; !slices.Equal(got, tc.want) {
				t.Errorf("batch sizes %v, want %v first", sizes.limits, tc.want)
			}
			if j, _ := db.FindJob(ctx, job.ID); j.Status != mfa.JobDone || j.Changed != 3200 {
				t.Errorf("job %+v", j)
			}
		})
	}
}

// A batch holds its narrow writes back and stores them 100 to a statement: a user named twice in a
// batch, or renamed after a held write, still ends with both changes and both versions; more than
// 100 users are stored in full statements and a remainder.
func TestHeldWritesKeepOrderAndVersions(t *testing.T) {
	db := openTest(t)
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
		case 230: // all[5] again: a second held write
			u.State = mfa.StateEnforced
		case 231: // all[6] renamed after its held write: a full write
			u.DisplayName = "Renamed After Hold"
		default:
			u.State = states[i%3]
		}
		return &mfa.AuditRecord{Action: "test", Target: u.UPN}, nil
	})
	if err != nil || slices.ContainsFunc(errs, func(e error) bool { return e != nil }) {
		t.Fatal(err, errs)
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
		}
		if got.State != want || got.Version != version {
			t.Fatalf("%s (%d): %s v%d, want %s v%d", u.UPN, i, got.State, got.Version, want, version)
		}
	}
	checkCounts(t, db)
	// The 232 audit records, inserted 100 to a statement, form an unbroken chain.
	if n := auditCount(t, db); n != 232 {
		t.Errorf("%d audit records, want 232", n)
	}
	if _, err := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Audit: db, Settings: db, Jobs: db}).VerifyAudit(ctx, mfa.CLIActor); err != nil {
		t.Fatal(err)
	}
}

// userLookupOnly is a directory that finds whole users only (no LookupForPlan).
type userLookupOnly struct {
	mfa.Directory
	lookup mfa.UserLookup
}

func (u userLookupOnly) FindUsersByUPN(ctx context.Context, upns []string) (map[string]*mfa.User, error) {
	return u.lookup.FindUsersByUPN(ctx, upns)
}

// failingLookup fails the look-up of the batch holding a given user.
type failingLookup struct {
	*DB
	failOn string
}

func (f *failingLookup) LookupForPlan(ctx context.Context, keys []string) (map[string]mfa.PlanUser, error) {
	if slices.Contains(keys, f.failOn) {
		return nil, errors.New("directory gone")
	}
	return f.DB.LookupForPlan(ctx, keys)
}

// Planning runs its look-ups side by side and still emits every row once, in file order, with
// duplicates found across batches; a look-up that fails stops the plan with its error.
func TestPlanAcrossBatches(t *testing.T) {
	svc, db := bulkService(t)
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("Username,MFA Status\n")
	var users []mfa.User
	for i := range 9000 {
		users = append(users, mfa.User{UPN: fmt.Sprintf("p%04d@contoso.com", i), DisplayName: fmt.Sprintf("P %04d", i), AccountEnabled: true, State: mfa.StateDisabled})
		fmt.Fprintf(&b, "p%04d@contoso.com,Enabled\n", i)
	}
	b.WriteString("P0010@contoso.com,Enforced\n") // line 9002: a duplicate of line 12, another status
	b.WriteString("nobody@contoso.com,Enabled\n")
	if _, err := db.SeedUsers(ctx, sliceSeq(users), t0, nil); err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	var last mfa.BulkRow
	counts, err := svc.PlanBulk(ctx, admin, strings.NewReader(b.String()), mfa.DefaultCSVLimits, func(rows []mfa.BulkRow) error {
		for _, r := range rows {
			seqs = append(seqs, r.Seq)
			last = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if counts.Enable != 9000 || counts.Errors != 2 || len(seqs) != 9002 || !slices.IsSorted(seqs) || seqs[0] != 1 {
		t.Fatalf("counts %+v, %d rows, sorted %t", counts, len(seqs), slices.IsSorted(seqs))
	}
	if last.Line != 9003 || !strings.Contains(last.Error, "unknown user") {
		t.Fatalf("last row %+v", last)
	}
	// A directory that can only find whole users plans the same.
	svc = withDirectory(svc, userLookupOnly{Directory: db, lookup: db})
	again, err := svc.PlanBulk(ctx, admin, strings.NewReader(b.String()), mfa.DefaultCSVLimits, func([]mfa.BulkRow) error { return nil })
	if err != nil || again != counts {
		t.Fatalf("plan through FindUsersByUPN: %+v %v, want %+v", again, err, counts)
	}
	svc = withDirectory(svc, &failingLookup{DB: db, failOn: "p7000@contoso.com"})
	_, err = svc.PlanBulk(ctx, admin, strings.NewReader(b.String()), mfa.DefaultCSVLimits, func([]mfa.BulkRow) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "directory gone") {
		t.Fatalf("plan with a failing look-up: %v", err)
	}
}

// Stored warnings read back as they were planned: the fixed ones by their index, others as text.
func TestWarningsRoundTrip(t *testing.T) {
	for _, ws := range [][]string{
		nil,
		{mfa.WarnNoMethods},
		{mfa.WarnDisabledToEnforced, mfa.WarnNoMethods, mfa.WarnAdmin},
		{"duplicate of line 7 (same status): ignored", mfa.WarnAdmin},
		{"\x010 looks like a code", ""},
	} {
		enc := encodeWarnings(ws)
		if got := decodeWarnings(enc); !slices.Equal(got, ws) && !(len(ws) == 0 && len(got) == 0) {
			t.Errorf("%q → %q → %q", ws, enc, got)
		}
	}
	if n := len(encodeWarnings([]string{mfa.WarnDisabledToEnforced, mfa.WarnNoMethods})); n != 5 {
		t.Errorf("two fixed warnings take %d bytes, want 5", n)
	}
}

// watchedDirectory calls during the row at index at of a batch, inside its transaction.
type watchedDirectory struct {
	*DB
	at     int
	during func()
}

func (w *watchedDirectory) UpdateUsers(ctx context.Context, refs []mfa.UserRef, fn func(int, *mfa.User) (*mfa.AuditRecord, error)) ([]*mfa.User, []error, error) {
	return w.DB.UpdateUsers(ctx, refs, func(i int, u *mfa.User) (*mfa.AuditRecord, error) {
		if i == w.at {
			w.during()
		}
		return fn(i, u)
	})
}

// A job's progress moves while a batch runs: the rows run through the rules in the batch's
// transaction count, on top of the stored counters (which advance at the commit), and only once.
func TestProgressMovesDuringABatch(t *testing.T) {
	svc, db := bulkService(t)
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("Username,MFA Status\n")
	var users []mfa.User
	for i := range 600 {
		users = append(users, mfa.User{UPN: fmt.Sprintf("g%03d@contoso.com", i), DisplayName: fmt.Sprintf("G %03d", i), AccountEnabled: true, State: mfa.StateDisabled})
		fmt.Fprintf(&b, "g%03d@contoso.com,Enabled\n", i)
	}
	if _, err := db.SeedUsers(ctx, sliceSeq(users), t0, nil); err != nil {
		t.Fatal(err)
	}
	job, _ := planFile(t, svc, admin, b.String())
	svc.StartBulkJob(ctx, admin, job.ID, "")
	var live, stored *mfa.Job
	svc = withDirectory(svc, &watchedDirectory{DB: db, at: 250, during: func() {
		live, _ = svc.GetBulkJob(ctx, admin, job.ID)
		stored, _ = db.FindJob(ctx, job.ID)
	}})
	if err := (&mfa.BulkRunner{Service: svc, BatchSize: 1000, LiveProgress: true}).RunJob(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	if stored.Done != 0 || live.Done != 250 || live.Changed != 250 || live.Status != mfa.JobRunning {
		t.Fatalf("during the batch: stored %d done, shown %+v", stored.Done, live)
	}
	end, _ := svc.GetBulkJob(ctx, admin, job.ID)
	if end.Total != 600 || end.Done != 600 || end.Changed != 600 {
		t.Fatalf("after: %+v", end)
	}

	// Without LiveProgress (Graph, where the writes follow the rules) only stored progress shows.
	job, _ = planFile(t, svc, admin, strings.ReplaceAll(b.String(), "Enabled", "Enforced"))
	svc.StartBulkJob(ctx, admin, job.ID, "")
	if err := (&mfa.BulkRunner{Service: svc, BatchSize: 1000}).RunJob(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	if live.Done != 0 {
		t.Fatalf("without LiveProgress, during the batch: %+v", live)
	}
}

// Held audit records share their common fields in one statement; a record with other common
// fields (another actor, reason, source) starts a new statement, and the chain stays whole.
func TestHeldAuditRecordsWithDifferentActors(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		w, err := db.newAuditWriter(tx)
		if err != nil {
			return err
		}
		w.batch = true
		defer w.close()
		for i := range 250 {
			actor := mfa.Actor{Name: []string{"Alice", "bob"}[i/70%2], Role: mfa.RoleGlobalAdmin, Method: "local"}
			rec := mfa.NewAuditRecord(actor, mfa.SourceBulk("j"), fmt.Sprintf("reason %d", i/120), t0)
			rec.Action, rec.Target, rec.Before, rec.After = mfa.AuditEnable, fmt.Sprintf("U%03d@contoso.com", i), "Disabled", "Enabled"
			if err := w.append(ctx, &rec); err != nil {
				return err
			}
		}
		return w.flush(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := auditCount(t, db); n != 250 {
		t.Fatalf("%d records", n)
	}
	page, _ := db.FindAudit(ctx, mfa.AuditFilter{Actor: "BOB", Limit: 1000})
	if len(page.Records) != 110 { // records 70–139 and 210–249
		t.Fatalf("bob has %d records, want 110", len(page.Records))
	}
	for _, r := range page.Records {
		if r.ActorName != "bob" || !strings.HasPrefix(r.Reason, "reason ") || r.Target == "" {
			t.Fatalf("record %+v", r)
		}
	}
	if _, err := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Audit: db, Settings: db, Jobs: db}).VerifyAudit(ctx, mfa.CLIActor); err != nil {
		t.Fatal(err)
	}
}

// withDirectory is svc over another directory (a wrapper of the store that fails or watches).
func withDirectory(svc *mfa.Service, d mfa.Directory) *mfa.Service {
	deps := svc.Deps
	deps.Directory = d
	return mfa.MustNewService(deps)
}
