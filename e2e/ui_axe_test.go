package e2e

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, vendored (testdata/axe/README.md says which release and how to update it).
//
//go:embed testdata/axe/axe.min.js
var axeSource string

const axeSHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

// axeTags are the rules run: WCAG 2.0 and 2.1, levels A and AA.
const axeRun = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]})
	.then(r => r.violations.map(v => v.id + " (" + v.impact + "): " + v.help + "\n\t\t" +
		v.nodes.slice(0, 4).map(n => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " ").slice(0, 200)).join("\n\t\t")))`

// axeCheck runs axe-core on the tab's page as it is now and fails for each WCAG 2.1 A/AA violation.
func axeCheck(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	if sum := sha256.Sum256([]byte(axeSource)); hex.EncodeToString(sum[:]) != axeSHA256 {
		t.Fatal("testdata/axe/axe.min.js is not the vendored axe-core release (see its README)")
	}
	var loaded bool
	run(t, ctx, "axe loaded", chromedp.Evaluate(`typeof axe === "object"`, &loaded))
	if !loaded {
		run(t, ctx, "load axe", chromedp.Evaluate(axeSource, nil))
	}
	var violations []string
	run(t, ctx, "axe "+what, evalAsync(axeRun, &violations))
	for _, v := range violations {
		t.Errorf("%s: %s", what, v)
	}
}

// TestAccessibilityInBrowser runs axe-core (WCAG 2.1 A and AA) on the users page on a desktop and a
// phone, each quick step's dialog and its result, a user's page, the service settings, every
// step of a bulk update, the audit log and the administration pages with their confirmations;
// each in the light and the dark colour scheme.
func TestAccessibilityInBrowser(t *testing.T) {
	s := newUISession(t)
	fixtures := s.base + "/users?view=all&q=fixture"
	file := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(file, []byte("Username,MFA Status\nfix.d@contoso.com,Enabled\nfix.b@contoso.com,Enforced\nghost@contoso.com,Enabled\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	type state struct {
		name string
		vps  []viewport
		do   func(t *testing.T, ctx context.Context)
	}
	step := func(name string, upns ...string) func(t *testing.T, ctx context.Context) {
		return func(t *testing.T, ctx context.Context) {
			open(t, ctx, fixtures, "#selection")
			openStep(t, ctx, name, upns...)
		}
	}
	var result, done string // pages of a step taken once, shown again in the dark
	states := []state{
		{"users page", []viewport{desktop, phone}, func(t *testing.T, ctx context.Context) {
			open(t, ctx, s.base+"/users?view=all", "#selection")
			run(t, ctx, "select", chromedp.Click("#selection tbody tr:nth-child(2) input", chromedp.ByQuery),
				chromedp.Click("#selection tbody tr:nth-child(4) input", chromedp.ByQuery))
		}},
		{"enable dialog", []viewport{desktop, phone}, step("enable", "fix.d@contoso.com")},
		{"enforce dialog", []viewport{desktop}, step("enforce", "fix.a@contoso.com", "fix.b@contoso.com", "fix.c@contoso.com")},
		{"disable dialog", []viewport{desktop}, step("disable", "fix.c@contoso.com")},
		{"manage dialog", []viewport{desktop}, step("manage", "fix.c@contoso.com")},
		{"result dialog", []viewport{desktop, phone}, func(t *testing.T, ctx context.Context) {
			if result != "" { // the result of the step below, shown again
				open(t, ctx, result, "#result-dialog")
				return
			}
			step("disable", "fix.c@contoso.com")(t, ctx)
			run(t, ctx, "yes", chromedp.Click(`//dialog//button[normalize-space()="yes"]`, chromedp.BySearch), chromedp.WaitVisible("#result-dialog", chromedp.ByID))
			result = location(t, ctx)
		}},
		{"user page", []viewport{desktop}, func(t *testing.T, ctx context.Context) {
			open(t, ctx, s.base+"/users/fix.c@contoso.com", "[data-testid=history]")
		}},
		{"service settings", []viewport{desktop, phone}, func(t *testing.T, ctx context.Context) {
			open(t, ctx, s.base+"/settings", "form.settings")
		}},
		{"bulk update: select a file", []viewport{desktop}, func(t *testing.T, ctx context.Context) {
			open(t, ctx, s.base+"/bulk", "#file")
		}},
		{"bulk update: verify", []viewport{desktop, phone}, func(t *testing.T, ctx context.Context) {
			open(t, ctx, s.base+"/bulk", "#file")
			run(t, ctx, "upload", chromedp.SetUploadFiles("#file", []string{file}, chromedp.ByID),
				chromedp.Click(`//button[normalize-space()="Next"]`, chromedp.BySearch), chromedp.WaitVisible("[data-testid=preview]", chromedp.ByQuery))
		}},
		{"bulk update: done", []viewport{desktop}, func(t *testing.T, ctx context.Context) {
			if done != "" {
				open(t, ctx, done, "[data-testid=results]")
				return
			}
			defer func() { done = location(t, ctx) }()
			open(t, ctx, s.base+"/bulk", "#file")
			run(t, ctx, "apply", chromedp.SetUploadFiles("#file", []string{file}, chromedp.ByID),
				chromedp.Click(`//button[normalize-space()="Next"]`, chromedp.BySearch), chromedp.WaitVisible("[data-testid=commit]", chromedp.ByQuery),
				chromedp.Click("[data-testid=commit]", chromedp.ByQuery), chromedp.WaitVisible("[data-testid=results]", chromedp.ByQuery))
		}},
		{"audit log", []viewport{desktop, phone}, func(t *testing.T, ctx context.Context) {
			open(t, ctx, s.base+"/audit", "[data-testid=audit]")
		}},
		{"local accounts: remove", []viewport{desktop}, func(t *testing.T, ctx context.Context) {
			open(t, ctx, s.base+"/accounts", "#name")
			run(t, ctx, "ask", chromedp.Evaluate(`(() => { const f = document.createElement("form"); f.method = "post"; f.action = "/accounts/remove";
				const i = document.createElement("input"); i.name = "name"; i.value = "admin"; f.append(i); document.body.append(f); f.submit(); return true })()`, nil),
				chromedp.WaitVisible("#confirm-dialog", chromedp.ByID))
		}},
		{"API tokens", []viewport{desktop}, func(t *testing.T, ctx context.Context) {
			open(t, ctx, s.base+"/tokens", "#name")
		}},
	}
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			ctx := s.tab(t)
			for _, vp := range st.vps {
				for _, dark := range []bool{false, true} {
					what := fmt.Sprintf("%s, %s, %s", st.name, vp.name, map[bool]string{false: "light", true: "dark"}[dark])
					run(t, ctx, "emulate", emulate(vp, dark))
					st.do(t, ctx)
					axeCheck(t, ctx, what)
					shot(t, ctx, strings.ReplaceAll(what, ", ", "-"))
				}
			}
		})
	}
}
