package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mfaportal/mfaportal/mfa"
)

// TestMoveToConditionalAccessInBrowser walks the move to Conditional Access on the Graph backend
// in Chromium: the tab, the users Conditional Access covers in per-user MFA and the gap, the
// policies; the plan's verify page; the update disables exactly those users in Graph; undo puts
// them back. The users page shows the coverage column and filters by it.
func TestMoveToConditionalAccessInBrowser(t *testing.T) {
	base, emu := startGraphPortal(t)
	ctx := signInAsAdmin(t, base)

	run(t, ctx, "users page", chromedp.Navigate(base+"/users?view=all&coverage=ca"), chromedp.WaitVisible("#selection", chromedp.ByID))
	covered := summaryCount(t, ctx)
	if covered == 0 || covered == graphUsers {
		t.Fatalf("%d of %d users covered: the seeded tenant should have some of each", covered, graphUsers)
	}
	if got := texts(t, ctx, `table.users tbody [data-testid="coverage"]`); len(got) == 0 || got[0] != mfa.CARequired.Label() {
		t.Errorf("coverage column: %q", got)
	}
	axeCheck(t, ctx, "users page with Conditional Access")

	run(t, ctx, "the tab",
		chromedp.Click(`//nav[@class="tabs"]//a[normalize-space()="move to Conditional Access"]`, chromedp.BySearch),
		chromedp.WaitVisible(`[data-testid="to-convert"]`, chromedp.ByQuery))
	toConvert := 0
	before := map[string]mfa.State{}
	for _, id := range emu.UserIDs() {
		u, _ := emu.User(id)
		before[u.UPN] = u.State
	}
	label := text(t, ctx, `[data-testid="to-convert"] strong`)
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(label, " users"), " user"))
	if err != nil || n == 0 {
		t.Fatalf("to convert: %q", label)
	}
	toConvert = n
	if rows := texts(t, ctx, `[data-testid="policies"] tbody tr`); len(rows) != 6 {
		t.Errorf("policies: %q", rows)
	}
	if !strings.Contains(text(t, ctx, `[data-testid="gap-per-user"]`), "Include them in a policy first") {
		t.Errorf("gap: %q", text(t, ctx, `[data-testid="gap-per-user"]`))
	}

	axeCheck(t, ctx, "move to Conditional Access")
	for _, dark := range []bool{false, true} {
		run(t, ctx, "phone", emulate(phone, dark), chromedp.Reload(), chromedp.WaitVisible(`[data-testid="to-convert"]`, chromedp.ByQuery))
		noSidewaysScroll(t, ctx, "move to Conditional Access on a phone")
		axeCheck(t, ctx, "move to Conditional Access on a phone")
	}
	run(t, ctx, "desktop", emulate(desktop, false), chromedp.Reload(), chromedp.WaitVisible(`[data-testid="to-convert"]`, chromedp.ByQuery))

	run(t, ctx, "plan",
		chromedp.SendKeys("#reason", "CHG-CA", chromedp.ByID),
		chromedp.Click(`[data-testid="plan-conversion"]`, chromedp.ByQuery),
		chromedp.WaitVisible("[data-testid=preview]", chromedp.ByQuery))
	if got := text(t, ctx, "[data-count=disable]"); got != strconv.Itoa(toConvert) {
		t.Errorf("the verify page disables %q users, want %d", got, toConvert)
	}
	run(t, ctx, "apply",
		chromedp.Click(`[data-testid="commit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`//h3[normalize-space()="Done"]`, chromedp.BySearch))
	changed := 0
	for upn, st := range before {
		got, _ := emu.UserState(upn)
		if got != st {
			changed++
			if got != mfa.StateDisabled || st == mfa.StateDisabled {
				t.Errorf("%s: %s → %s", upn, st, got)
			}
		}
	}
	if changed != toConvert {
		t.Errorf("%d users changed in Graph, want %d", changed, toConvert)
	}

	run(t, ctx, "undo",
		chromedp.Click(`[data-testid="undo"]`, chromedp.ByQuery),
		chromedp.WaitVisible("[data-testid=preview]", chromedp.ByQuery),
		chromedp.Click(`[data-testid="commit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`//h3[normalize-space()="Done"]`, chromedp.BySearch))
	for upn, st := range before {
		if got, _ := emu.UserState(upn); got != st && !(st == mfa.StateEnabled && got == mfa.StateEnforced) {
			t.Errorf("%s: %s after the undo, was %s", upn, got, st)
		}
	}
	run(t, ctx, "back to the page", chromedp.Navigate(base+"/conditional-access"), chromedp.WaitVisible(`[data-testid="to-convert"]`, chromedp.ByQuery))
	if got := text(t, ctx, `[data-testid="to-convert"] strong`); got != label {
		t.Errorf("after the undo: %q, want %q", got, label)
	}
}
