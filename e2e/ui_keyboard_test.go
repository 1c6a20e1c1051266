package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// press sends keys to the focused element, one key event each.
func press(t *testing.T, ctx context.Context, keys ...string) {
	t.Helper()
	for _, k := range keys {
		run(t, ctx, "press", chromedp.KeyEvent(k))
	}
}

// shiftTab moves the focus back one stop.
func shiftTab(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx, "shift+tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(input.ModifierShift)))
}

// escapeReturnsFocus closes the open dialog with Escape and checks where the focus went back to.
func escapeReturnsFocus(t *testing.T, ctx context.Context, dialog, want string) {
	t.Helper()
	press(t, ctx, kb.Escape)
	run(t, ctx, "closed", chromedp.WaitNotPresent(dialog, chromedp.ByQuery))
	if f := focused(t, ctx); f != want {
		t.Errorf("after Escape the focus is on %q, want %q", f, want)
	}
}

func focused(t *testing.T, ctx context.Context) string {
	t.Helper()
	return eval[string](t, ctx, focusedJS)
}

// TestKeyboardInBrowser: filters change on an explicit choice only; the users table is two tab
// stops walked with the arrow keys, so the quick steps are two Shift+Tabs from a selected row (or
// a skip link away); focus shows everywhere, the dark header included; after a dialog the focus
// returns to what opened it and the selection stays, the changed rows highlighted.
func TestKeyboardInBrowser(t *testing.T) {
	s := newUISession(t)

	t.Run("filters on an explicit choice", func(t *testing.T) {
		ctx := s.tab(t)
		open(t, ctx, s.base+"/users?view=all", "#selection")
		start := location(t, ctx)
		run(t, ctx, "focus status", chromedp.Focus("#status", chromedp.ByID))
		press(t, ctx, kb.ArrowDown, kb.ArrowDown)
		run(t, ctx, "wait", chromedp.Sleep(700*time.Millisecond))
		if u := location(t, ctx); u != start {
			t.Fatalf("↓ in the status filter loaded %s", u)
		}
		if v := eval[string](t, ctx, `document.getElementById("status").value`); v != "enforced" {
			t.Fatalf("↓↓ chose %q", v)
		}
		press(t, ctx, kb.Enter)
		run(t, ctx, "applied", waitForURL("status=enforced"))

		// Leaving a changed filter applies it, and the focus goes where it was going.
		run(t, ctx, "focus view", chromedp.Focus("#view", chromedp.ByID))
		press(t, ctx, kb.ArrowUp)
		run(t, ctx, "wait", chromedp.Sleep(500*time.Millisecond))
		if u := location(t, ctx); !strings.Contains(u, "view=all") {
			t.Fatalf("↓ in the view filter loaded %s", u)
		}
		press(t, ctx, kb.Tab)
		run(t, ctx, "applied on leaving", waitForURL("view=blocked"), waitFor(`document.activeElement && document.activeElement.id === "status"`))
	})

	t.Run("quick steps next to the selection", func(t *testing.T) {
		ctx := s.tab(t)
		open(t, ctx, s.base+"/users?view=all", "#selection")
		stops := eval[int](t, ctx, `Array.from(document.querySelectorAll("#selection tbody *")).filter(e => e.tabIndex >= 0 && !e.disabled).length`)
		if stops != 1 {
			t.Errorf("the users table's rows are %d tab stops, want 1", stops)
		}
		run(t, ctx, "first row", chromedp.Focus("#selection tbody tr:first-child input", chromedp.ByQuery))
		press(t, ctx, kb.ArrowDown, kb.ArrowDown, kb.ArrowDown, kb.ArrowDown, kb.ArrowDown, " ")
		row := eval[int](t, ctx, `Array.from(document.querySelectorAll("#selection tbody input")).indexOf(document.activeElement)`)
		if row != 5 || !eval[bool](t, ctx, `document.activeElement.checked`) {
			t.Fatalf("↓×5 and Space: row %d focused (%s)", row, focused(t, ctx))
		}
		press(t, ctx, kb.ArrowRight)
		if f := focused(t, ctx); !strings.HasPrefix(f, "a ") || eval[int](t, ctx, `Array.from(document.querySelectorAll("#selection tbody a")).indexOf(document.activeElement)`) != 5 {
			t.Errorf("→ from the checkbox: %s", f)
		}
		press(t, ctx, kb.ArrowLeft)
		// The next stop after the selected row leads to the quick steps: Tab, Enter, Tab.
		press(t, ctx, kb.Tab)
		if f := focused(t, ctx); f != "a Go to the quick steps" {
			t.Fatalf("Tab after the selected row: %s", f)
		}
		press(t, ctx, kb.Enter, kb.Tab)
		if f := eval[string](t, ctx, `document.activeElement.closest("aside.quick") ? document.activeElement.className : ""`); !strings.Contains(f, "step") {
			t.Fatalf("the link leads to %s, not a quick step", focused(t, ctx))
		}
		// The skip link: the second stop of the page, straight to the quick steps.
		open(t, ctx, s.base+"/users?view=all", "#selection")
		press(t, ctx, kb.Tab, kb.Tab)
		if f := focused(t, ctx); !strings.Contains(f, "Skip to quick steps") {
			t.Fatalf("second Tab: %s", f)
		}
		press(t, ctx, kb.Enter)
		if f := focused(t, ctx); !strings.Contains(f, "h2#quick-steps") {
			t.Fatalf("the skip link leads to %s", f)
		}
	})

	t.Run("focus visible everywhere", func(t *testing.T) {
		ctx := s.tab(t)
		for _, dark := range []bool{false, true} {
			run(t, ctx, "emulate", emulate(desktop, dark))
			open(t, ctx, s.base+"/users?view=all", "#selection")
			run(t, ctx, "select a row", chromedp.Click("#selection tbody tr:first-child input", chromedp.ByQuery),
				chromedp.Evaluate(`document.activeElement.blur()`, nil))
			seen := map[string]bool{}
			for range 40 {
				press(t, ctx, kb.Tab)
				got := eval[[]any](t, ctx, focusRingJS)
				what, ok := got[0].(string), got[1].(bool)
				if strings.HasPrefix(what, "body") {
					continue // past the last stop, the focus leaves the page
				}
				for _, part := range strings.Split(strings.SplitN(what, " ", 2)[0], ".")[1:] {
					seen[strings.SplitN(what, ".", 2)[0]+"."+part] = true
				}
				seen[strings.SplitN(strings.SplitN(what, " ", 2)[0], ".", 2)[0]] = true
				if !ok {
					t.Errorf("dark=%v: focus on %s is not visible: %v", dark, what, got[2])
				}
			}
			for _, want := range []string{"a.brand", "button.link", "a", "select#view", "input#q", "button.step", "input.select-row", "a.skip"} {
				if !seen[want] {
					t.Errorf("dark=%v: the tab walk never reached %s (saw %v)", dark, want, seen)
				}
			}
		}
	})

	t.Run("after a dialog", func(t *testing.T) {
		ctx := s.tab(t)
		list := s.base + "/users?view=all&q=fixture"
		open(t, ctx, list, "#selection")
		run(t, ctx, "select Dora and Ava", selectRow("fix.d@contoso.com"), selectRow("fix.a@contoso.com"),
			chromedp.Focus(`aside.quick button[data-step=enable]`, chromedp.ByQuery))
		press(t, ctx, kb.Enter)
		run(t, ctx, "dialog", chromedp.WaitVisible("#step-dialog", chromedp.ByID))
		if f := focused(t, ctx); !strings.HasPrefix(f, "a cancel") {
			t.Fatalf("the enable dialog opens with the focus on %s, not cancel", f)
		}
		escapeReturnsFocus(t, ctx, "#step-dialog", "button Enable")
		if u := location(t, ctx); !strings.HasSuffix(u, "/users?q=fixture&status=any&view=all") {
			t.Errorf("after Escape at %s", u)
		}
		if got := texts(t, ctx, "#selection tbody tr.selected td:nth-child(3)"); strings.Join(got, ",") != "fix.a@contoso.com,fix.d@contoso.com" {
			t.Errorf("selection after Escape: %q", got)
		}
		// Confirm with the keyboard, close the result: Enable no longer applies, so the focus goes
		// to the quick steps; the selection stays and the changed row is marked.
		press(t, ctx, kb.Enter)
		run(t, ctx, "dialog again", chromedp.WaitVisible("#step-dialog", chromedp.ByID))
		shiftTab(t, ctx)
		press(t, ctx, kb.Enter)
		run(t, ctx, "result", chromedp.WaitVisible("#result-dialog", chromedp.ByID))
		if f := focused(t, ctx); !strings.HasPrefix(f, "a close") {
			t.Fatalf("the result opens with the focus on %s", f)
		}
		// The result reads as sentences: no space before a full stop or a colon.
		if got := text(t, ctx, "[data-testid=result-summary]"); got != "1 changed, 1 without change." {
			t.Errorf("result summary %q", got)
		}
		if got := eval[string](t, ctx, `Array.from(document.querySelectorAll("#result-dialog tbody tr")).find(r => r.cells[0].textContent === "fix.a@contoso.com").cells[2].innerText`); got != "no change: already Enabled" {
			t.Errorf("Ava's result %q", got)
		}
		press(t, ctx, kb.Enter)
		run(t, ctx, "closed", chromedp.WaitNotPresent("#result-dialog", chromedp.ByID))
		if f := focused(t, ctx); !strings.HasPrefix(f, "h2#quick-steps") {
			t.Errorf("after the result the focus is on %s", f)
		}
		if got := texts(t, ctx, "#selection tbody tr.selected td:nth-child(3)"); strings.Join(got, ",") != "fix.a@contoso.com,fix.d@contoso.com" {
			t.Errorf("selection after the step: %q", got)
		}
		if got := texts(t, ctx, "#selection tbody tr.changed td:nth-child(3)"); strings.Join(got, ",") != "fix.d@contoso.com" {
			t.Errorf("rows marked changed: %q", got)
		}
		if u := location(t, ctx); strings.Contains(u, "result=") {
			t.Errorf("the closed result stays in the URL: %s", u)
		}
		// The pane follows the kept selection: Ava (Enabled) and Dora (now Enabled) may be disabled,
		// now or for a while.
		if got := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("aside.quick button.step")).filter(b => !b.hidden).map(b => b.textContent.trim())`); strings.Join(got, ",") != "Enforce,Disable,Disable for a while,Manage user settings" {
			t.Errorf("steps for the kept selection: %q", got)
		}
	})
}

// focusRingJS describes the focused element and whether its focus ring shows: an outline of 2 px
// or more whose colour stands 3:1 against what is behind the element (WCAG 2.4.7, 1.4.11).
const focusRingJS = `(() => {
	const e = document.activeElement;
	const what = e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.classList.length ? "." + Array.from(e.classList).join(".") : "") + " " + (e.textContent || "").trim().slice(0, 30);
	const cs = getComputedStyle(e);
	const rgb = s => (s.match(/[\d.]+/g) || [0, 0, 0, 0]).map(Number);
	const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4) };
		return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]) };
	let bg = e.parentElement;
	while (bg && (rgb(getComputedStyle(bg).backgroundColor)[3] === 0 || getComputedStyle(bg).backgroundColor === "rgba(0, 0, 0, 0)")) bg = bg.parentElement;
	const back = rgb(bg ? getComputedStyle(bg).backgroundColor : "rgb(255, 255, 255)");
	const ring = rgb(cs.outlineColor);
	const [a, b] = [lum(ring), lum(back)].sort((x, y) => y - x);
	const ratio = (a + 0.05) / (b + 0.05);
	const ok = e.matches(":focus-visible") && cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2 && ratio >= 3;
	return [what, ok, cs.outlineStyle + " " + cs.outlineWidth + " " + cs.outlineColor + " on " + (bg ? getComputedStyle(bg).backgroundColor : "?") + " ratio " + ratio.toFixed(2)];
})()`
