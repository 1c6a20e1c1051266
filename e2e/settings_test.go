package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func checked(t *testing.T, ctx context.Context, selector string) bool {
	t.Helper()
	var ok bool
	run(t, ctx, "checked "+selector, chromedp.Evaluate(`document.querySelector(`+"`"+selector+"`"+`).checked`, &ok))
	return ok
}

func TestServiceSettingsInBrowser(t *testing.T) {
	base := startPortal(t)
	ctx := signInAsAdmin(t, base)
	run(t, ctx, "open settings", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible("form.settings", chromedp.ByQuery))

	// An invalid range: refused with its line named; nothing saved, what was typed kept.
	run(t, ctx, "bad range",
		chromedp.Click(`input[name=appPasswords][value=allow]`, chromedp.ByQuery),
		chromedp.Click(`input[name=skipForRanges]`, chromedp.ByQuery),
		chromedp.SendKeys("#ranges", "203.0.113.0/24\n198.51.100.7/33", chromedp.ByID),
		chromedp.Click(`//button[normalize-space()="save"]`, chromedp.BySearch),
		chromedp.WaitVisible("[data-testid=err-ranges]", chromedp.ByQuery))
	if msg := text(t, ctx, "[data-testid=err-ranges]"); !strings.Contains(msg, "line 2") || !strings.Contains(msg, "198.51.100.7/33") {
		t.Fatalf("range error %q", msg)
	}
	run(t, ctx, "reload", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible("form.settings", chromedp.ByQuery))
	if checked(t, ctx, "input[name=appPasswords][value=allow]") || checked(t, ctx, "input[name=skipForRanges]") {
		t.Fatal("a refused form was saved")
	}

	// Change every section, save, reload: all kept.
	run(t, ctx, "change every section",
		chromedp.Click(`input[name=appPasswords][value=allow]`, chromedp.ByQuery),
		chromedp.Click(`input[name=skipForFederatedIntranet]`, chromedp.ByQuery),
		chromedp.Click(`input[name=skipForRanges]`, chromedp.ByQuery),
		chromedp.SendKeys("#ranges", "203.0.113.0/24\n198.51.100.7/32", chromedp.ByID),
		chromedp.Click(`input[name=sms]`, chromedp.ByQuery),
		chromedp.Click(`input[name=rememberMfa]`, chromedp.ByQuery),
		chromedp.SetValue("#rememberDays", "30", chromedp.ByID),
		chromedp.Click(`//button[normalize-space()="save"]`, chromedp.BySearch),
		chromedp.WaitVisible(".notice.ok", chromedp.ByQuery),
		chromedp.Navigate(base+"/settings"),
		chromedp.WaitVisible("form.settings", chromedp.ByQuery))
	for sel, want := range map[string]bool{
		"input[name=appPasswords][value=allow]": true, "input[name=skipForFederatedIntranet]": true, "input[name=skipForRanges]": true,
		"input[name=call]": true, "input[name=sms]": false, "input[name=appNotification]": true, "input[name=appCode]": true,
		"input[name=rememberMfa]": true,
	} {
		if checked(t, ctx, sel) != want {
			t.Errorf("%s: checked=%v after reload", sel, !want)
		}
	}
	var days, ranges string
	run(t, ctx, "values", chromedp.Value("#rememberDays", &days, chromedp.ByID), chromedp.Value("#ranges", &ranges, chromedp.ByID))
	if days != "30" || ranges != "203.0.113.0/24\n198.51.100.7/32" {
		t.Fatalf("days %q ranges %q", days, ranges)
	}
}
