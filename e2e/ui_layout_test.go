package e2e

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// adminPage is a page of the portal as the global admin sees it, with its tab.
type adminPage struct {
	name, path, ready, tab string
}

var adminPages = []adminPage{
	{"users", "/users?view=all", "#selection", "users"},
	{"user page", "/users/fix.c@contoso.com", "[data-testid=user-heading]", "users"},
	{"service settings", "/settings", "form.settings", "service settings"},
	{"audit log", "/audit", "main h1", "audit log"},
	{"bulk update", "/bulk", "#file", "users"},
	{"local accounts", "/accounts", "#name", "local accounts"},
	{"API tokens", "/tokens", "#name", "API tokens"},
	{"registration", "/registration", "main h1", "registration"},
	{"notification email", "/registration/template", "main h1", "registration"},
	{"overview", "/overview", "main h1", "overview"},
	{"exemptions", "/exemptions", "main h1", ""},
	{"account security", "/account/security", "main h1", ""},
	{"not found", "/no-such-page", "main h1", ""},
}

// publicPages are pages for people not signed in to the admin pages.
var publicPages = []adminPage{
	{"sign-in", "/signin", "#username", ""},
	{"users' sign-in", "/my/signin", "main h1", ""},
}

// TestAdminPagesLayoutInBrowser: one navigation on every admin page, and every page usable at
// 390 px and at 200 % zoom without scrolling sideways, with the header fitting.
func TestAdminPagesLayoutInBrowser(t *testing.T) {
	s := newUISession(t)

	t.Run("one navigation", func(t *testing.T) {
		ctx := s.tab(t)
		var labels []string
		for _, tab := range templates.Tabs { // a global admin sees every tab the embedded directory offers
			if tab.Only == nil || tab.Only(mfa.AllCapabilities()) {
				labels = append(labels, tab.Label)
			}
		}
		want := strings.Join(labels, ",")
		for _, p := range adminPages {
			open(t, ctx, s.base+p.path, p.ready)
			if got := strings.Join(texts(t, ctx, "nav.tabs a"), ","); got != want {
				t.Errorf("%s: navigation %q, want %q", p.name, got, want)
			}
			if got := texts(t, ctx, `nav.tabs a[aria-current="page"]`); p.tab != "" && (len(got) != 1 || got[0] != p.tab) {
				t.Errorf("%s: current tab %q, want %q", p.name, got, p.tab)
			}
		}
	})

	// The README's screenshot: the users page as an admin sees it, one user selected. Made on every
	// run; written to docs/users-page.png with MFAPORTAL_SCREENSHOT=1 (or to the path it names).
	t.Run("README screenshot", func(t *testing.T) {
		ctx := s.tab(t)
		run(t, ctx, "emulate", emulate(viewport{"screenshot", 1280, 760, 1, false}, false))
		open(t, ctx, s.base+"/users", "#selection")
		var shot []byte
		run(t, ctx, "screenshot", chromedp.Click("#selection tbody tr:nth-child(3) input", chromedp.ByQuery),
			chromedp.WaitVisible("aside.quick .one", chromedp.ByQuery), chromedp.Evaluate(`document.activeElement.blur()`, nil),
			chromedp.CaptureScreenshot(&shot))
		cfg, err := png.DecodeConfig(bytes.NewReader(shot))
		if err != nil || cfg.Width != 1280 || cfg.Height != 760 {
			t.Fatalf("screenshot: %v, %dx%d", err, cfg.Width, cfg.Height)
		}
		switch path := os.Getenv("MFAPORTAL_SCREENSHOT"); path {
		case "":
		case "1":
			path = filepath.Join("..", "docs", "users-page.png")
			fallthrough
		default:
			if err := os.WriteFile(path, shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})

	signedOut := newBrowserFor(t, 5*time.Minute) // a second browser, with no session, for the public pages
	for _, vp := range []viewport{phone, zoom200} {
		t.Run(vp.name, func(t *testing.T) {
			ctx := s.tab(t)
			for _, dark := range []bool{false, true} {
				run(t, ctx, "emulate", emulate(vp, dark))
				for _, p := range adminPages {
					open(t, ctx, s.base+p.path, p.ready)
					noSidewaysScroll(t, ctx, p.name)
					// The header fits: sign out is inside the window, in white on the dark header.
					box := eval[[]float64](t, ctx, `(() => { const b = document.querySelector("header.top button"); const r = b.getBoundingClientRect();
						return [r.left, r.right, window.innerWidth] })()`)
					if box[0] < 0 || box[1] > box[2] {
						t.Errorf("%s: sign out is at %v–%v px in a %v px window", p.name, box[0], box[1], box[2])
					}
					if c := eval[string](t, ctx, `getComputedStyle(document.querySelector("header.top button")).color`); c != "rgb(255, 255, 255)" {
						t.Errorf("%s: sign out's text is %s on the dark header", p.name, c)
					}
					if !dark {
						shot(t, ctx, vp.name+"-"+p.name)
					}
				}
				// Every dialog of the users page, and the pages for people not signed in.
				for _, st := range []string{"enable", "enforce", "manage"} {
					open(t, ctx, s.base+"/users?view=all&q=fixture", "#selection")
					openStep(t, ctx, st, "fix.a@contoso.com", "fix.b@contoso.com", "fix.d@contoso.com")
					noSidewaysScroll(t, ctx, st+" dialog")
					if w := eval[[]float64](t, ctx, `(() => { const r = document.getElementById("step-dialog").getBoundingClientRect(); return [r.left, r.right, innerWidth] })()`); w[0] < 0 || w[1] > w[2] {
						t.Errorf("%s dialog: at %v–%v px in a %v px window", st, w[0], w[1], w[2])
					}
				}
				run(t, signedOut, "emulate", emulate(vp, dark))
				for _, p := range publicPages {
					open(t, signedOut, s.base+p.path, p.ready)
					noSidewaysScroll(t, signedOut, p.name)
				}
			}
		})
	}
}
