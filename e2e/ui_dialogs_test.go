package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// openStep selects users on the page and opens a quick step's dialog.
func openStep(t *testing.T, ctx context.Context, step string, upns ...string) {
	t.Helper()
	for _, upn := range upns {
		run(t, ctx, "select "+upn, selectRow(upn))
	}
	run(t, ctx, step, chromedp.Click(`aside.quick button[data-step=`+step+`]`, chromedp.ByQuery), chromedp.WaitVisible("#step-dialog", chromedp.ByID))
}

// enabledWithoutMethods counts the Enabled users without registered methods in the test tenant.
func enabledWithoutMethods() int {
	n := 0
	for u := range mfa.DemoUsers(demoSize) {
		if u.State == mfa.StateEnabled && !u.HasMethods() {
			n++
		}
	}
	return n + 2 // the fixtures Ava and Ben
}

// TestDialogsInBrowser: every dialog that changes something opens with the focus on its safe
// choice; Manage user settings has nothing ticked; warnings name their users; the enable dialog's
// pointers are links; removing an account and revoking a token ask first; the bulk update's commit
// button says what it does and its counts add up to the file's rows.
func TestDialogsInBrowser(t *testing.T) {
	s := newUISession(t)
	fixtures := s.base + "/users?view=all&q=fixture"

	t.Run("safe first focus", func(t *testing.T) {
		ctx := s.tab(t)
		for _, c := range []struct{ step, upn, cancel string }{
			{"enable", "fix.d@contoso.com", "cancel"}, {"enforce", "fix.a@contoso.com", "cancel"},
			{"disable", "fix.a@contoso.com", "no"}, {"manage", "fix.a@contoso.com", "cancel"},
		} {
			open(t, ctx, fixtures, "#selection")
			openStep(t, ctx, c.step, c.upn)
			if f := focused(t, ctx); f != "a "+c.cancel {
				t.Errorf("%s: the dialog opens with the focus on %q, want %q", c.step, f, c.cancel)
			}
			if c.step == "manage" {
				if n := eval[int](t, ctx, `document.querySelectorAll("#step-dialog input[type=checkbox]:checked").length`); n != 0 {
					t.Errorf("Manage user settings opens with %d options ticked", n)
				}
				// Saving with nothing ticked changes nothing and says why, in the dialog.
				run(t, ctx, "save nothing", chromedp.Click(`//dialog//button[normalize-space()="save"]`, chromedp.BySearch),
					chromedp.WaitVisible("#step-error", chromedp.ByID))
				if msg := text(t, ctx, "#step-error"); !strings.Contains(msg, "choose at least one") {
					t.Errorf("save with nothing ticked: %q", msg)
				}
			}
		}
		// The same on a user's page.
		open(t, ctx, s.base+"/users/fix.b@contoso.com", ".user-steps")
		run(t, ctx, "enforce Ben", chromedp.Click(`.user-steps button[value=enforce]`, chromedp.ByQuery), chromedp.WaitVisible("#step-dialog", chromedp.ByID))
		if f := focused(t, ctx); f != "a cancel" {
			t.Errorf("user page: the dialog opens with the focus on %q", f)
		}
		escapeReturnsFocus(t, ctx, "#step-dialog", "button Enforce")
	})

	t.Run("warnings name their users", func(t *testing.T) {
		ctx := s.tab(t)
		open(t, ctx, fixtures, "#selection")
		run(t, ctx, "select all", chromedp.Click("input.select-all", chromedp.ByQuery))
		run(t, ctx, "enforce", chromedp.Click(`aside.quick button[data-step=enforce]`, chromedp.ByQuery), chromedp.WaitVisible("#step-dialog", chromedp.ByID))
		names := texts(t, ctx, "[data-testid=warn-no-methods] li")
		if strings.Join(names, ";") != "Ava Fixture (fix.a@contoso.com);Ben Fixture (fix.b@contoso.com)" {
			t.Errorf("no-methods warning names %q", names)
		}
		if got := texts(t, ctx, "[data-testid=warn-admins] li"); strings.Join(got, ";") != "Ben Fixture (fix.b@contoso.com)" {
			t.Errorf("admin warning names %q", got)
		}
		// Over twenty, users selected on a page: twenty names, the others behind "and N more" (a
		// link to the view would list users not selected too).
		open(t, ctx, s.base+"/users?view=all&status=enabled", "#selection")
		run(t, ctx, "all on the page", chromedp.Click("input.select-all", chromedp.ByQuery),
			chromedp.Click(`aside.quick button[data-step=enforce]`, chromedp.ByQuery), chromedp.WaitVisible("#step-dialog", chromedp.ByID))
		want := enabledWithoutMethods() // all on this page
		if n := len(texts(t, ctx, "[data-testid=warn-no-methods] > ul.names li")); n != mfa.MaxWarningNames {
			t.Errorf("%d names, want %d", n, mfa.MaxWarningNames)
		}
		if got := text(t, ctx, "[data-testid=warn-no-methods] [data-testid=more-names] summary"); got != "and "+thousandsOf(want-mfa.MaxWarningNames)+" more" {
			t.Errorf("%q, want and %d more", got, want-mfa.MaxWarningNames)
		}
		run(t, ctx, "show the others", chromedp.Click("[data-testid=warn-no-methods] [data-testid=more-names] summary", chromedp.ByQuery),
			chromedp.WaitVisible("[data-testid=warn-no-methods] [data-testid=more-names] li", chromedp.ByQuery))
		if n := len(texts(t, ctx, "[data-testid=warn-no-methods] [data-testid=more-names] li")); n != want-mfa.MaxWarningNames {
			t.Errorf("%d names behind and more, want %d", n, want-mfa.MaxWarningNames)
		}
		if n := len(texts(t, ctx, "[data-testid=warn-no-methods] a[data-testid=more]")); n != 0 {
			t.Errorf("a page selection links to the view")
		}
		// All matching users (pages of 25): "and N more" links to the view, which lists exactly them.
		open(t, ctx, s.base+"/users?view=all&status=enabled&limit=25", "#selection")
		run(t, ctx, "all matching", chromedp.Click("input.select-all", chromedp.ByQuery), chromedp.Click("#choose-all", chromedp.ByID),
			chromedp.Click(`aside.quick button[data-step=enforce]`, chromedp.ByQuery), chromedp.WaitVisible("#step-dialog", chromedp.ByID))
		more := eval[[]string](t, ctx, `(() => { const a = document.querySelector("[data-testid=warn-no-methods] a[data-testid=more]"); return a ? [a.getAttribute("href"), a.target] : ["", ""] })()`)
		if more[0] != "/users?limit=25&methods=none&status=enabled&view=all" || more[1] != "_blank" {
			t.Errorf("the link to the others: %q", more)
		}
		if more[0] != "" {
			open(t, ctx, s.base+more[0], "#summary")
			if n := summaryCount(t, ctx); n != want {
				t.Errorf("the link to the others lists %d users, the warning counts %d", n, want)
			}
		}
	})

	t.Run("enable dialog links", func(t *testing.T) {
		ctx := s.tab(t)
		open(t, ctx, fixtures, "#selection")
		openStep(t, ctx, "enable", "fix.d@contoso.com")
		links := eval[[][3]string](t, ctx, `Array.from(document.querySelectorAll("#step-desc a")).map(a => [a.textContent, a.getAttribute("href"), a.target])`)
		want := [][3]string{{"deployment guide (opens in a new tab)", templates.DeploymentGuideURL, "_blank"}, {"security info page (opens in a new tab)", "/my", "_blank"}}
		if !slices.Equal(links, want) {
			t.Errorf("links %q, want %q", links, want)
		}
	})

	t.Run("confirm before removing and revoking", func(t *testing.T) {
		ctx := s.tab(t)
		open(t, ctx, s.base+"/tokens", "#name")
		run(t, ctx, "create", chromedp.SendKeys("#name", "nightly", chromedp.ByID), chromedp.SetValue("#role", "reader", chromedp.ByID),
			chromedp.Click(`//button[normalize-space()="create token"]`, chromedp.BySearch), chromedp.WaitVisible("[data-testid=created]", chromedp.ByQuery),
			// A reload asks for the page again: no second token (revoking the one leaves none, below).
			chromedp.Reload(), chromedp.WaitVisible("[data-testid=tokens]", chromedp.ByQuery))
		if at := eval[string](t, ctx, `location.pathname + " " + document.querySelectorAll("[data-testid=created], .notice.error, [role=alert]").length`); at != "/tokens 0" {
			t.Errorf("after a reload: %q, want the tokens page as asked for, without the token shown or an error: %s", at, text(t, ctx, "main"))
		}
		run(t, ctx, "revoke dialog", chromedp.Click(`button[aria-label="revoke nightly"]`, chromedp.ByQuery), chromedp.WaitVisible("#confirm-dialog", chromedp.ByID))
		if h := text(t, ctx, "#confirm-title"); h != "Revoke the token nightly?" {
			t.Errorf("revoke asks %q", h)
		}
		if f := focused(t, ctx); f != "a cancel" {
			t.Errorf("the revoke dialog opens with the focus on %q", f)
		}
		escapeReturnsFocus(t, ctx, "#confirm-dialog", "button revoke nightly")
		if got := texts(t, ctx, "[data-testid=tokens] tbody td:first-child"); !slices.Contains(got, "nightly") {
			t.Fatalf("cancelled, yet the token is gone: %q", got)
		}
		run(t, ctx, "revoke", chromedp.Click(`button[aria-label="revoke nightly"]`, chromedp.ByQuery), chromedp.WaitVisible("#confirm-dialog", chromedp.ByID),
			chromedp.Click(`//dialog//button[normalize-space()="revoke nightly"]`, chromedp.BySearch), chromedp.WaitVisible("[data-testid=empty]", chromedp.ByQuery))

		open(t, ctx, s.base+"/accounts", "#name")
		run(t, ctx, "add", chromedp.SendKeys("#name", "hd1", chromedp.ByID), chromedp.SetValue("#role", "helpdesk", chromedp.ByID),
			chromedp.SendKeys("#password", "a long enough password", chromedp.ByID), chromedp.SendKeys("#confirm", "a long enough password", chromedp.ByID),
			chromedp.Click(`//button[normalize-space()="add account"]`, chromedp.BySearch), chromedp.WaitVisible(`button[aria-label="remove hd1"]`, chromedp.ByQuery),
			chromedp.Click(`button[aria-label="remove hd1"]`, chromedp.ByQuery), chromedp.WaitVisible("#confirm-dialog", chromedp.ByID))
		if f := focused(t, ctx); f != "a cancel" || text(t, ctx, "#confirm-title") != "Remove the account hd1?" {
			t.Errorf("the remove dialog: %q, focus on %q", text(t, ctx, "#confirm-title"), f)
		}
		run(t, ctx, "remove", chromedp.Click(`//dialog//button[normalize-space()="remove hd1"]`, chromedp.BySearch), waitFor(`!document.querySelector('button[aria-label="remove hd1"]') && !!document.querySelector(".notice.ok")`))
	})

	t.Run("bulk update counts and commit", func(t *testing.T) {
		ctx := s.tab(t)
		file := filepath.Join(t.TempDir(), "users.csv")
		// 7 rows: 2 to apply, 1 already so, a same-status duplicate, a conflicting duplicate, an unknown
		// user, a bad status, a blank line (not a row).
		content := "Username,MFA Status\nfix.d@contoso.com,Enabled\nfix.c@contoso.com,Enforced\nfix.a@contoso.com,Enabled\n\n" +
			"fix.d@contoso.com,enabled\nfix.c@contoso.com,Disabled\nghost@contoso.com,Enabled\nfix.b@contoso.com,Sometimes\n"
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		open(t, ctx, s.base+"/bulk", "#file")
		run(t, ctx, "verify", chromedp.SetUploadFiles("#file", []string{file}, chromedp.ByID),
			chromedp.Click(`//button[normalize-space()="Next"]`, chromedp.BySearch), chromedp.WaitVisible("[data-testid=preview]", chromedp.ByQuery))
		sum := 0
		for _, k := range []string{"enable", "enforce", "disable", "unchanged", "errors"} {
			sum += eval[int](t, ctx, `Number(document.querySelector("[data-count=`+k+`]").textContent)`)
		}
		if total := eval[int](t, ctx, `Number(document.querySelector("[data-count=total]").textContent)`); sum != 7 || total != 7 {
			t.Errorf("the counts add up to %d, the total says %d: the file has 7 rows", sum, total)
		}
		if b := text(t, ctx, "[data-testid=commit]"); b != "update 2 users" {
			t.Errorf("the commit button says %q", b)
		}
		run(t, ctx, "apply", chromedp.Click("[data-testid=commit]", chromedp.ByQuery), chromedp.WaitVisible(`//h3[normalize-space()="Done"]`, chromedp.BySearch))
		done := 0
		for _, k := range []string{"changed", "unchanged", "failed", "errors"} {
			done += eval[int](t, ctx, `Number(document.querySelector("[data-testid=summary] [data-field=`+k+`]").textContent)`)
		}
		if done != 7 {
			t.Errorf("the summary adds up to %d rows, the file has 7", done)
		}
		if got := eval[string](t, ctx, `document.querySelector("[data-testid=job-title]").nextElementSibling.innerText`); !regexp.MustCompile(`^users\.csv · started by admin at [^·]+ · ended at [^·]+ · done$`).MatchString(got) {
			t.Errorf("the job's line reads %q", got)
		}
	})
}

func thousandsOf(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
