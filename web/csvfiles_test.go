package web

import (
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// TestBulkReadsFilesAsSpreadsheetsSaveThem uploads the files that real tools save by default: each
// is verified (not refused), and one that is not UTF-8 says on the verify page how it was read.
func TestBulkReadsFilesAsSpreadsheetsSaveThem(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	e.withBulk()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	files := []struct {
		name, content string
		notice        bool
	}{
		{"Excel CSV (Comma delimited), Windows-1252", "Username,MFA Status,Nom\r\nstep.user@contoso.com,Enabled,Andr\xe9\r\n", true},
		{"LibreOffice, Latin-1", "Username;MFA Status;Nom\nstep.user@contoso.com;Enabled;M\xfcller\n", true},
		{"Excel CSV (Macintosh), CR only", "Username,MFA Status\rstep.user@contoso.com,Enabled\r", false},
		{"a space before the opening quote", "Username, \"MFA Status\"\r\nstep.user@contoso.com, \"Enabled\"\r\n", false},
	}
	for _, f := range files {
		resp, doc := e.upload(c, f.name+".csv", f.content)
		if resp.StatusCode != 200 || doc.Find(`[data-count="enable"]`).Text() != "1" {
			t.Errorf("%s: status %d, page %q", f.name, resp.StatusCode, strings.Join(strings.Fields(doc.Find("main").Text()), " "))
			continue
		}
		notice := doc.Find(`[data-testid="file-notice"]`).Text()
		if f.notice != strings.Contains(notice, "Windows-1252") {
			t.Errorf("%s: notice %q", f.name, notice)
		}
	}
}
