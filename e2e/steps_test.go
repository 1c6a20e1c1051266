package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

func signInAsAdmin(t *testing.T, base string) (ctx context.Context) {
	t.Helper()
	return signIn(t, newBrowser(t), base)
}

// signIn signs a browser in as admin, and waits for the users page.
func signIn(t *testing.T, ctx context.Context, base string) context.Context {
	t.Helper()
	run(t, ctx, "sign in",
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", "admin", chromedp.ByID),
		chromedp.SendKeys("#password", adminPassword, chromedp.ByID),
		chromedp.Click("button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible("table.users", chromedp.ByQuery))
	return ctx
}

// stateOf reads the status column of the row whose user name is upn.
func stateOf(t *testing.T, ctx context.Context, upn string) string {
	t.Helper()
	var s string
	run(t, ctx, "state of "+upn, chromedp.Evaluate(`(() => { const r = Array.from(document.querySelectorAll("#selection tbody tr"))
		.find(tr => tr.children[2].textContent.trim() === "`+upn+`"); return r ? r.children[3].querySelector(".state").textContent.trim() : "(not shown)" })()`, &s))
	return s
}

func clearSelection() chromedp.Action {
	return chromedp.Evaluate(`document.querySelectorAll("#selection input.select-row:checked").forEach(c => c.click())`, nil)
}

func selectRow(upn string) chromedp.Action {
	return chromedp.Click(`#selection input[value$=" `+upn+`"]`, chromedp.ByQuery)
}

func TestQuickStepsInBrowser(t *testing.T) {
	base := startPortal(t)
	ctx := signInAsAdmin(t, base)
	list := base + "/users?view=all&q=fixture"
	run(t, ctx, "fixtures", chromedp.Navigate(list), chromedp.WaitVisible("#selection", chromedp.ByID))

	// One user: the pane shows their name and state and only the steps that apply.
	run(t, ctx, "select Dora", selectRow("fix.d@contoso.com"), chromedp.WaitVisible("aside.quick .one", chromedp.ByQuery))
	if name := text(t, ctx, "aside.quick .one .name"); name != "Dora Fixture" {
		t.Fatalf("pane shows %q", name)
	}
	visible := func() []string {
		var out []string
		run(t, ctx, "visible steps", chromedp.Evaluate(`Array.from(document.querySelectorAll("aside.quick button.step")).filter(b => !b.hidden).map(b => b.textContent.trim())`, &out))
		return out
	}
	if got := strings.Join(visible(), ","); got != "Enable,Manage user settings" {
		t.Fatalf("steps for a Disabled user: %s", got)
	}

	// Enable, confirm in the dialog, see "Updates successful", close: the table shows the new state
	// and the search is kept.
	run(t, ctx, "enable",
		chromedp.Click(`aside.quick button[data-step=enable]`, chromedp.ByQuery),
		chromedp.WaitVisible("#step-dialog", chromedp.ByID))
	if title := text(t, ctx, "#step-title"); title != "About enabling multi-factor auth" {
		t.Fatalf("dialog title %q", title)
	}
	run(t, ctx, "confirm enable",
		chromedp.Click(`//dialog//button[normalize-space()="enable multi-factor auth"]`, chromedp.BySearch),
		chromedp.WaitVisible("#result-dialog", chromedp.ByID))
	if title := text(t, ctx, "#result-title"); title != "Updates successful" {
		t.Fatalf("result %q", title)
	}
	run(t, ctx, "close", chromedp.Click(`//dialog//a[normalize-space()="close"]`, chromedp.BySearch), waitForURL("q=fixture"),
		chromedp.WaitNotPresent("#result-dialog", chromedp.ByID))
	if s := stateOf(t, ctx, "fix.d@contoso.com"); s != "Enabled" {
		t.Fatalf("after enable: %s", s)
	}

	// Cancel with Escape: nothing changes.
	run(t, ctx, "select Ava", selectRow("fix.a@contoso.com"),
		chromedp.Click(`aside.quick button[data-step=disable]`, chromedp.ByQuery),
		chromedp.WaitVisible("#step-dialog", chromedp.ByID))
	if title := text(t, ctx, "#step-title"); title != "Disable multi-factor authentication?" {
		t.Fatalf("dialog title %q", title)
	}
	run(t, ctx, "escape", chromedp.KeyEvent(kb.Escape), waitForURL("q=fixture"), chromedp.WaitNotPresent("#step-dialog", chromedp.ByID))
	if s := stateOf(t, ctx, "fix.a@contoso.com"); s != "Enabled" {
		t.Fatalf("after cancel: %s", s)
	}

	// Several users at once: Enforce applies to the Enabled ones, with the warnings.
	run(t, ctx, "select all", chromedp.Click("input.select-all", chromedp.ByQuery),
		chromedp.Click(`aside.quick button[data-step=enforce]`, chromedp.ByQuery),
		chromedp.WaitVisible("#step-dialog", chromedp.ByID))
	if title := text(t, ctx, "#step-title"); title != "About enforcing multi-factor auth" {
		t.Fatalf("dialog title %q", title)
	}
	if n := text(t, ctx, "[data-testid=applicable]"); n != "4 users" {
		t.Fatalf("applies to %q", n)
	}
	if w := text(t, ctx, "[data-testid=warn-no-methods]"); !strings.HasPrefix(w, "3 users have no registered verification methods") {
		t.Fatalf("no-methods warning %q", w)
	}
	if w := text(t, ctx, "[data-testid=warn-admins]"); !strings.HasPrefix(w, "1 user holds an administrator role") {
		t.Fatalf("admin warning %q", w)
	}
	run(t, ctx, "confirm enforce",
		chromedp.SendKeys("#reason", "TICKET-42", chromedp.ByID),
		chromedp.Click(`//dialog//button[normalize-space()="enforce multi-factor auth"]`, chromedp.BySearch),
		chromedp.WaitVisible("#result-dialog", chromedp.ByID))
	if s := text(t, ctx, "[data-testid=result-summary]"); !strings.HasPrefix(s, "4 changed, 0 without change") {
		t.Fatalf("result summary %q", s)
	}
	run(t, ctx, "close", chromedp.Click(`//dialog//a[normalize-space()="close"]`, chromedp.BySearch), waitForURL("q=fixture"),
		chromedp.WaitNotPresent("#result-dialog", chromedp.ByID))
	for _, upn := range []string{"fix.a@contoso.com", "fix.b@contoso.com", "fix.c@contoso.com", "fix.d@contoso.com"} {
		if s := stateOf(t, ctx, upn); s != "Enforced" {
			t.Fatalf("%s after enforce: %s", upn, s)
		}
	}

	// Manage user settings on Cleo, then her page shows the effect and the history.
	// The selection of the step before stays after its dialog closes: clear it first.
	run(t, ctx, "manage", clearSelection(), selectRow("fix.c@contoso.com"),
		chromedp.Click(`aside.quick button[data-step=manage]`, chromedp.ByQuery),
		chromedp.WaitVisible("#step-dialog", chromedp.ByID))
	if title := text(t, ctx, "#step-title"); title != "Manage user settings" {
		t.Fatalf("dialog title %q", title)
	}
	for _, label := range []string{"Require selected users to provide contact methods again",
		"Delete all existing app passwords generated by the selected users",
		"Restore multi-factor authentication on all remembered devices"} {
		run(t, ctx, "option "+label, chromedp.WaitVisible(`//dialog//label[normalize-space()="`+label+`"]`, chromedp.BySearch))
	}
	run(t, ctx, "save",
		chromedp.Click(`//dialog//label[contains(., "provide contact methods again")]/input`, chromedp.BySearch),
		chromedp.Click(`//dialog//label[contains(., "remembered devices")]/input`, chromedp.BySearch),
		chromedp.Click(`//dialog//button[normalize-space()="save"]`, chromedp.BySearch),
		chromedp.WaitVisible("#result-dialog", chromedp.ByID),
		chromedp.Click(`//dialog//a[normalize-space()="close"]`, chromedp.BySearch), waitForURL("q=fixture"),
		chromedp.Navigate(base+"/users/fix.c@contoso.com"),
		chromedp.WaitVisible("[data-testid=history]", chromedp.ByQuery))
	if text(t, ctx, "[data-testid=no-methods]") != "None registered" {
		t.Fatal("methods still shown after provide contact methods again")
	}
	history := texts(t, ctx, "[data-testid=history] tbody td.action")
	if strings.Join(history, ",") != "reset contact methods, restored MFA on remembered devices,enforced MFA,imported the user" {
		t.Fatalf("history %q", history)
	}

	// Disable from the user's page, with "yes".
	run(t, ctx, "disable on the user page",
		chromedp.Click(`//form[@class="user-steps"]//button[normalize-space()="Disable"]`, chromedp.BySearch),
		chromedp.WaitVisible("#step-dialog", chromedp.ByID),
		chromedp.Click(`//dialog//button[normalize-space()="yes"]`, chromedp.BySearch),
		chromedp.WaitVisible("#result-dialog", chromedp.ByID),
		chromedp.Click(`//dialog//a[normalize-space()="close"]`, chromedp.BySearch),
		chromedp.Sleep(200*time.Millisecond),
		chromedp.WaitVisible("[data-testid=user-state]", chromedp.ByQuery))
	if s := text(t, ctx, "[data-testid=user-state]"); s != "Disabled" {
		t.Fatalf("after disable: %s", s)
	}

	// The audit log shows every change, newest first, and filters by user.
	run(t, ctx, "audit", chromedp.Navigate(base+"/audit?target=fix.b@contoso.com"), chromedp.WaitVisible("[data-testid=audit]", chromedp.ByQuery))
	actions := texts(t, ctx, "[data-testid=audit] tbody td.action")
	reasons := texts(t, ctx, "[data-testid=audit] tbody td.reason")
	if strings.Join(actions, ",") != "enforced MFA,imported the user" || reasons[0] != "TICKET-42" {
		t.Fatalf("audit for fix.b: %q %q", actions, reasons)
	}
}
