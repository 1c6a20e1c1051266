package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBeyondPagesInBrowser walks the pages of SPEC §10 in Chromium: the overview's chart and its
// table, the registration tab's page checkbox, and Disable for a while on a user's page, ended early.
func TestBeyondPagesInBrowser(t *testing.T) {
	base := startPortal(t)
	ctx := signInAsAdmin(t, base)

	run(t, ctx, "overview", chromedp.Navigate(base+"/overview"), chromedp.WaitVisible(`svg[data-testid="chart"]`, chromedp.ByQuery))
	if got := texts(t, ctx, `[data-testid="chart-table"] tbody tr`); len(got) != 1 {
		t.Errorf("the chart's table has %d days, want the snapshot taken at start", len(got))
	}
	if got := text(t, ctx, `nav.tabs a[aria-current="page"]`); got != "overview" {
		t.Errorf("current tab %q", got)
	}

	run(t, ctx, "registration", chromedp.Navigate(base+"/registration"), chromedp.WaitVisible("table.registration", chromedp.ByQuery))
	if !strings.Contains(text(t, ctx, "table.registration"), "fix.a@contoso.com") {
		t.Errorf("Ava (Enabled, no methods) is not awaiting registration")
	}
	var all bool
	run(t, ctx, "select the page",
		chromedp.Click("input.select-page", chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll('#notify-selection input[name="sel"]')].every(b => b.checked)`, &all))
	if !all {
		t.Errorf("the page checkbox did not select every user of the page")
	}
	if !strings.Contains(text(t, ctx, `[data-testid="mail-unavailable"]`), "MFAPORTAL_SMTP_URL") {
		t.Errorf("no word about the missing mail server")
	}

	run(t, ctx, "disable for a while",
		chromedp.Navigate(base+"/users/fix.c@contoso.com"),
		chromedp.Click("details.exempt summary", chromedp.ByQuery),
		chromedp.SetValue("#hours", "5", chromedp.ByID),
		chromedp.SendKeys("#exempt-reason", "on a plane", chromedp.ByID),
		chromedp.Click(`[data-testid="exempt"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="exemption"]`, chromedp.ByQuery))
	if got := text(t, ctx, `[data-testid="user-state"]`); got != "Disabled" {
		t.Errorf("state %q after Disable for a while", got)
	}
	if got := text(t, ctx, `[data-testid="exemption-left"]`); got != "5 hours" && got != "4 hours" {
		t.Errorf("time left %q", got)
	}
	run(t, ctx, "end now",
		chromedp.Click(`[data-testid="end-exemption"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`details.exempt`, chromedp.ByQuery))
	if got := text(t, ctx, `[data-testid="user-state"]`); got != "Enabled" {
		t.Errorf("state %q after end now", got)
	}
}
