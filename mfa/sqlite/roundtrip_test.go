package sqlite

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// TestExportGoesBackIntoBulkUpdate exports the users page and plans the file as it is: every user
// is found under their own name — also names a spreadsheet would take for a formula (+ - =, and
// quotes before them) — and nothing would change.
func TestExportGoesBackIntoBulkUpdate(t *testing.T) {
	svc, _ := bulkService(t)
	ctx := context.Background()
	names := []string{"+plus@contoso.com", "-minus@contoso.com", "=equals@contoso.com", "'=quoted@contoso.com",
		"''+two.quotes@contoso.com", "o'brien@contoso.com", "'lead@contoso.com", "plain@contoso.com"}
	in := "UserPrincipalName,DisplayName,MFA Status\n"
	for i, n := range names {
		in += n + ",@Display " + n + "," + mfa.States[i%3].Label() + "\n"
	}
	if _, err := svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader(in), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	var export bytes.Buffer
	if err := svc.ExportUsers(ctx, admin, mfa.UserFilter{View: mfa.ViewAll, Status: mfa.StatusAny}, &export); err != nil {
		t.Fatal(err)
	}
	for _, formula := range []string{"\n+", "\n-", "\n=", ",+", ",-", ",=", ",@"} {
		if strings.Contains(export.String(), formula) {
			t.Errorf("the export has a cell starting a formula (%q):\n%s", formula, export.String())
		}
	}
	job, rows := planFile(t, svc, admin, export.String())
	if job.Counts.Errors != 0 || job.Counts.Valid() != 0 || job.Counts.Unchanged != len(names)+4 {
		t.Errorf("counts %+v: want every one of %d users unchanged", job.Counts, len(names)+4)
	}
	found := map[string]bool{}
	for _, r := range rows {
		found[r.Username] = r.Action == mfa.RowUnchanged && r.UserID != ""
	}
	for _, n := range names {
		if !found[n] {
			t.Errorf("%s was not read back as itself: rows %+v", n, rows)
		}
	}
}

// TestWindows1252FileNotice plans a file saved by Excel's default CSV on Windows: the accented name
// is read as Windows-1252 and the job says so.
func TestWindows1252FileNotice(t *testing.T) {
	svc, _ := bulkService(t)
	ctx := context.Background()
	if _, err := svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader("UserPrincipalName,DisplayName\njörg@contoso.com,Jörg\n"), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	job, rows := planFile(t, svc, admin, "Username,MFA Status\r\nj\xf6rg@contoso.com,Enabled\r\n")
	if len(rows) != 1 || rows[0].Action != mfa.RowEnable || rows[0].Username != "jörg@contoso.com" {
		t.Fatalf("rows %+v: want jörg enabled", rows)
	}
	stored, err := svc.GetBulkJob(ctx, admin, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Notice != mfa.Windows1252Notice {
		t.Errorf("job notice %q, want the Windows-1252 notice", stored.Notice)
	}
	job, _ = planFile(t, svc, admin, "Username,MFA Status\r\njörg@contoso.com,Enabled\r\n")
	if stored, _ := svc.GetBulkJob(ctx, admin, job.ID); stored.Notice != "" {
		t.Errorf("a UTF-8 file has the notice %q", stored.Notice)
	}
}
