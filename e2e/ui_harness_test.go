package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// uiSession is one portal and one signed-in Chromium shared by the subtests of a test: each
// subtest opens its own tab (same cookies), so the suite starts one browser, not one a subtest.
type uiSession struct {
	base    string
	browser context.Context
}

// newUISession boots a portal, starts Chromium and signs in as admin.
func newUISession(t *testing.T) *uiSession {
	t.Helper()
	s := &uiSession{base: startPortal(t)}
	s.browser = signIn(t, newBrowserFor(t, 15*time.Minute), s.base)
	return s
}

// tab opens a new tab in the shared browser, closed when the (sub)test ends; a subtest has two
// minutes.
func (s *uiSession) tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(s.browser)
	t.Cleanup(cancel)
	ctx, cancelTime := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancelTime)
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// viewport is a window size; scale 2 with half the width is the page at 200 % zoom.
type viewport struct {
	name          string
	width, height int64
	scale         float64
	mobile        bool
}

var (
	desktop = viewport{"desktop", 1280, 900, 1, false}
	phone   = viewport{"phone (390 px)", 390, 844, 3, true}
	zoom200 = viewport{"200% zoom", 640, 450, 2, false}
)

// emulate sets the viewport and the colour scheme (dark or light) of a tab.
func emulate(vp viewport, dark bool) chromedp.Action {
	scheme := "light"
	if dark {
		scheme = "dark"
	}
	return chromedp.Tasks{
		emulation.SetDeviceMetricsOverride(vp.width, vp.height, vp.scale, vp.mobile),
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}),
	}
}

// evalAsync evaluates a JavaScript expression that returns a promise, and waits for it.
func evalAsync(expr string, out any) chromedp.Action {
	return chromedp.Evaluate(expr, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	})
}

// eval is a JavaScript expression's value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	var v T
	run(t, ctx, "evaluate "+firstLine(expr), chromedp.Evaluate(expr, &v))
	return v
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// open navigates a tab and waits for an element of the page.
func open(t *testing.T, ctx context.Context, url, ready string) {
	t.Helper()
	run(t, ctx, "open "+url, chromedp.Navigate(url), chromedp.WaitReady(ready, chromedp.ByQuery))
}

// noSidewaysScroll fails when the page is wider than the window (it would scroll sideways).
func noSidewaysScroll(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	got := eval[[]float64](t, ctx, `[document.documentElement.scrollWidth, window.innerWidth]`)
	if got[0] > got[1] {
		wide := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("body *")).filter(e => {
			const r = e.getBoundingClientRect(); return r.right > window.innerWidth + 1 && !e.closest(".table-wrap, .results") })
			.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? "." + String(e.className).replace(/ /g, ".") : "") + " right=" + Math.round(e.getBoundingClientRect().right))`)
		t.Errorf("%s: the page is %v px wide in a %v px window (scrolls sideways); too wide: %v", what, got[0], got[1], wide)
	}
}

// focused describes the element that has the keyboard focus, for messages.
const focusedJS = `(() => { const e = document.activeElement; if (!e || e === document.body) return "(nothing)";
	return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " " + (e.getAttribute("aria-label") || e.textContent || e.value || "").trim().slice(0, 60) })()`

// shot saves a screenshot into $MFAPORTAL_UI_SHOTS when set (to look at the pages while working
// on them); without it, nothing is written.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("MFAPORTAL_UI_SHOTS")
	if dir == "" {
		return
	}
	var png []byte
	run(t, ctx, "screenshot", chromedp.CaptureScreenshot(&png))
	name = strings.NewReplacer(" ", "-", "/", "-", "%", "").Replace(name)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls a JavaScript condition until it holds.
func waitFor(cond string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		deadline := time.Now().Add(10 * time.Second)
		for {
			var ok bool
			err := chromedp.Evaluate(cond, &ok).Do(ctx)
			if err == nil && ok {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("waited 10 s for %s (last error: %v)", firstLine(cond), err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
