package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

func TestBulkUpdateWizardInBrowser(t *testing.T) {
	base := startPortal(t)
	ctx := signInAsAdmin(t, base)
	dir := t.TempDir()
	file := filepath.Join(dir, "users.csv")
	// Excel's "CSV (semicolon)" with a BOM and CRLF; one unknown user.
	content := "\ufeffUsername;MFA Status\r\nfix.a@contoso.com;Enforced\r\nfix.d@contoso.com;enabled\r\nghost@contoso.com;Enabled\r\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "step 1",
		chromedp.Navigate(base+"/users"),
		chromedp.Click(`//a[normalize-space()="bulk update"]`, chromedp.BySearch),
		chromedp.WaitVisible(`//label[normalize-space()="Browse for file"]`, chromedp.BySearch),
		chromedp.SetUploadFiles("#file", []string{file}, chromedp.ByID),
		chromedp.Click(`//button[normalize-space()="Next"]`, chromedp.BySearch),
		chromedp.WaitVisible("[data-testid=preview]", chromedp.ByQuery))
	counts := map[string]string{}
	for _, k := range []string{"enable", "enforce", "errors"} {
		counts[k] = text(t, ctx, "[data-count="+k+"]")
	}
	if counts["enable"] != "1" || counts["enforce"] != "1" || counts["errors"] != "1" {
		t.Fatalf("counts %v", counts)
	}
	preview := texts(t, ctx, "[data-testid=preview] tbody tr")
	if len(preview) != 3 || !strings.Contains(preview[0], "Enabled → Enforced") || !strings.Contains(preview[2], "unknown user") {
		t.Fatalf("preview %q", preview)
	}
	if s := text(t, ctx, "[data-testid=apply-summary]"); !strings.Contains(s, "update 2 users applies the 2 valid rows; 1 row is skipped (0 already in that state, 1 with errors).") {
		t.Fatalf("summary %q", s)
	}

	// Back starts over; then the same file again and Next applies it.
	run(t, ctx, "back",
		chromedp.Click(`//button[normalize-space()="Back"]`, chromedp.BySearch),
		chromedp.WaitVisible("#file", chromedp.ByID),
		chromedp.SetUploadFiles("#file", []string{file}, chromedp.ByID),
		chromedp.Click(`//button[normalize-space()="Next"]`, chromedp.BySearch),
		chromedp.WaitVisible("[data-testid=preview]", chromedp.ByQuery),
		chromedp.SendKeys("#reason", "CHG-1234", chromedp.ByID),
		chromedp.Click(`//form//button[normalize-space()="update 2 users"]`, chromedp.BySearch),
		chromedp.WaitVisible("#bar", chromedp.ByID),
		chromedp.WaitVisible(`//h3[normalize-space()="Done"]`, chromedp.BySearch))
	if got := text(t, ctx, "[data-field=changed]"); got != "2" {
		t.Fatalf("changed %q", got)
	}
	if got := text(t, ctx, "[data-testid=progress-text]"); !strings.HasPrefix(got, "2 / 2 rows") {
		t.Fatalf("progress %q", got)
	}

	// Download the per-row results.
	downloads := t.TempDir()
	run(t, ctx, "download",
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllowAndName).WithDownloadPath(downloads).WithEventsEnabled(true),
		chromedp.Click("[data-testid=results]", chromedp.ByQuery))
	var results string
	for range 100 {
		entries, _ := os.ReadDir(downloads)
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(downloads, e.Name())); err == nil && strings.Contains(string(b), "ghost@contoso.com") {
				results = string(b)
			}
		}
		if results != "" {
			break
		}
		chromedp.Run(ctx, chromedp.Sleep(50e6))
	}
	if !strings.Contains(results, "fix.a@contoso.com,Enforced,Enabled,enforce,changed") || !strings.Contains(results, "ghost@contoso.com,Enabled,,error,skipped") {
		t.Fatalf("results %q", results)
	}
	// The users page shows the new states.
	run(t, ctx, "users", chromedp.Navigate(base+"/users?view=all&q=fixture"), chromedp.WaitVisible("#selection", chromedp.ByID))
	if s := stateOf(t, ctx, "fix.a@contoso.com"); s != "Enforced" {
		t.Fatalf("fix.a: %s", s)
	}
}
