// Package e2e drives the whole portal in a real headless Chromium (Debian's /usr/bin/chromium):
// the server runs in-process on 127.0.0.1 over a real SQLite directory.
package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
	"github.com/mfaportal/mfaportal/web"
)

const adminPassword = "browser-test-password-1"

// fixtures are users with known states and methods, all found by searching "fixture".
const fixtures = `UserPrincipalName,DisplayName,MFA Status,Admin,Methods
fix.a@contoso.com,Ava Fixture,Enabled,false,
fix.b@contoso.com,Ben Fixture,Enabled,true,
fix.c@contoso.com,Cleo Fixture,Enabled,false,mobilePhone officePhone
fix.d@contoso.com,Dora Fixture,Disabled,false,
`

// demoSize is big enough for three pages of the "All users" view.
const demoSize = 260

// startPortal boots the portal on 127.0.0.1:0 with the demo tenant and returns its base URL.
func startPortal(t *testing.T) string {
	t.Helper()
	return startPortalWith(t, nil)
}

// startPortalWith is startPortal with the web configuration changed by configure, which is given
// the portal's base URL (its public URL).
func startPortalWith(t *testing.T, configure func(cfg *web.Config, baseURL string)) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SeedUsers(ctx, mfa.DemoUsers(demoSize), time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Importer: db, Accounts: db, Tokens: db, Audit: db, Settings: db, Jobs: db, Registrations: db})
	if _, err := svc.EnsureAdmin(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader(fixtures), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	// SPEC §10: exemptions, the notify template, the overview with its snapshot at start.
	svc.Exemptions, svc.Notices, svc.Overview = db, db, db
	if err := svc.TakeSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := web.Config{SessionKey: make([]byte, 64), Self: newSelfService(t, db, "http://"+l.Addr().String())}
	if configure != nil {
		configure(&cfg, "http://"+l.Addr().String())
	}
	srv, err := web.New(cfg, svc, db, db.Ping, log)
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	done, runnerDone := make(chan struct{}), make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	runner := mfa.NewBulkRunner(svc, func(msg string, err error) { t.Errorf("%s: %v", msg, err) })
	go func() { runner.Run(ctx); close(runnerDone) }()
	t.Cleanup(func() { cancel(); <-done; <-runnerDone; db.Close() })
	return "http://" + l.Addr().String()
}

// chromiumPath finds Debian's Chromium. The test command installs it; a missing browser is a
// failure, never a silent skip.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("MFAPORTAL_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := exec.LookPath(p); err == nil {
				return p
			}
		}
	}
	t.Fatal("Chromium not found at /usr/bin/chromium: run `apt-get install -y chromium` (or .ci/run, which does) or set MFAPORTAL_CHROMIUM")
	return ""
}

// newBrowser starts a fresh headless Chromium with the flags this sandbox needs, for one test of
// at most 90 seconds.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowserFor(t, 90*time.Second)
}

// newBrowserFor is newBrowser for a test (and its subtests) of at most d.
func newBrowserFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	// A fresh profile, removed by the cleanup below rather than by t.TempDir (which fails the test
	// when Chromium is still writing to it).
	profile, err := os.MkdirTemp("", "mfaportal-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	// chromedp logs events of newer Chromium versions it does not know; they are harmless here.
	quiet := func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "unhandled node event") {
			t.Log(msg)
		}
	}
	ctx, cancelB := chromedp.NewContext(actx, chromedp.WithErrorf(quiet))
	ctx, cancelC := context.WithTimeout(ctx, d)
	t.Cleanup(func() {
		cancelC()
		cancelB()
		cancelA()
		// Chromium's helper processes may still be writing to the profile for a moment.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func texts(t *testing.T, ctx context.Context, selector string) []string {
	t.Helper()
	var out []string
	run(t, ctx, "read "+selector, chromedp.Evaluate(fmt.Sprintf(
		`Array.from(document.querySelectorAll(%q)).map(e => e.textContent.trim())`, selector), &out))
	return out
}

func text(t *testing.T, ctx context.Context, selector string) string {
	t.Helper()
	var s string
	run(t, ctx, "read "+selector, chromedp.Text(selector, &s, chromedp.ByQuery))
	return strings.TrimSpace(s)
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	var u string
	run(t, ctx, "location", chromedp.Location(&u))
	return u
}

// choose picks an option of a select as a person would: the change event submits the filters.
func choose(selector, value string) chromedp.Action {
	return chromedp.Evaluate(fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q;
		s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, selector, value), nil)
}

// waitForURL waits until the page at a URL containing part has loaded. It retries through the
// navigation, during which the old page's JavaScript context disappears.
func waitForURL(part string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		deadline := time.Now().Add(10 * time.Second)
		for {
			var ok bool
			err := chromedp.Evaluate(fmt.Sprintf(`location.href.includes(%q) && document.readyState === "complete" && !!document.querySelector("#summary")`, part), &ok).Do(ctx)
			if err == nil && ok {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the page did not reach a URL with %q (last error: %v)", part, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// expected counts the demo tenant's users the way the page should.
func expected(view mfa.View, status mfa.StatusFilter) int {
	n := 0
	users := slices.Collect(mfa.DemoUsers(demoSize))
	extra, err := mfa.ParseUserImport(strings.NewReader(fixtures), mfa.DefaultCSVLimits)
	if err != nil {
		panic(err)
	}
	for _, iu := range extra.Users {
		users = append(users, iu.User)
	}
	for _, u := range users {
		if view == mfa.ViewAllowed && !u.AccountEnabled || view == mfa.ViewBlocked && u.AccountEnabled {
			continue
		}
		if status != mfa.StatusAny && u.State != mfa.State(status) {
			continue
		}
		n++
	}
	return n
}

func summaryCount(t *testing.T, ctx context.Context) int {
	t.Helper()
	s := text(t, ctx, "#summary")
	var n int
	if s == "No users match." {
		return 0
	}
	if _, err := fmt.Sscanf(strings.ReplaceAll(s, ",", ""), "%d", &n); err != nil {
		t.Fatalf("summary %q: %v", s, err)
	}
	return n
}

func TestUsersPageInBrowser(t *testing.T) {
	base := startPortal(t)
	ctx := newBrowser(t)

	// Signed out: sent to sign-in, and back to the page asked for afterwards.
	run(t, ctx, "open users", chromedp.Navigate(base+"/users?status=enforced"), chromedp.WaitVisible("#username", chromedp.ByID))
	if h := text(t, ctx, "h1"); h != "Sign in" {
		t.Fatalf("signed out: heading %q", h)
	}
	run(t, ctx, "wrong password",
		chromedp.SendKeys("#username", "admin", chromedp.ByID),
		chromedp.SendKeys("#password", "not the password", chromedp.ByID),
		chromedp.Click("button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible("#signin-error", chromedp.ByID))
	if msg := text(t, ctx, "#signin-error"); !strings.Contains(msg, "incorrect") {
		t.Fatalf("wrong password message %q", msg)
	}
	run(t, ctx, "sign in",
		chromedp.SetValue("#password", adminPassword, chromedp.ByID),
		chromedp.Click("button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible("table.users", chromedp.ByQuery))
	if u := location(t, ctx); !strings.HasSuffix(u, "/users?status=enforced") {
		t.Fatalf("after sign-in at %s", u)
	}
	if got := text(t, ctx, "[data-testid=signed-in-name]"); got != "admin" {
		t.Fatalf("signed in as %q", got)
	}

	// Each status filter: choosing it reloads the table with only that state.
	for _, st := range []mfa.State{mfa.StateEnabled, mfa.StateEnforced, mfa.StateDisabled} {
		run(t, ctx, "filter "+string(st),
			chromedp.Navigate(base+"/users?view=all"),
			chromedp.WaitVisible("#status", chromedp.ByID),
			choose("#status", string(st)),
			waitForURL("status="+string(st)))
		if u := location(t, ctx); !strings.Contains(u, "status="+string(st)) {
			t.Fatalf("URL %s does not hold the filter", u)
		}
		states := texts(t, ctx, "table.users tbody td:nth-child(4)")
		if len(states) == 0 {
			t.Fatalf("no %s users shown", st)
		}
		for _, s := range states {
			if s != st.Label() {
				t.Fatalf("filter %s shows a user who is %s", st, s)
			}
		}
		if got, want := summaryCount(t, ctx), expected(mfa.ViewAll, mfa.StatusFilter(st)); got != want {
			t.Fatalf("filter %s: %d users, want %d", st, got, want)
		}
	}

	// Each view, chosen with the select (its change submits the form by itself).
	for _, v := range mfa.Views {
		run(t, ctx, "view "+string(v),
			chromedp.Navigate(base+"/users?status=any"),
			chromedp.WaitVisible("#view", chromedp.ByID),
			choose("#view", string(v)),
			waitForURL("view="+string(v)))
		if u := location(t, ctx); !strings.Contains(u, "view="+string(v)) {
			t.Fatalf("view %s: at %s", v, u)
		}
		if got, want := summaryCount(t, ctx), expected(v, mfa.StatusAny); got != want {
			t.Fatalf("view %s: %d users, want %d", v, got, want)
		}
	}

	// Search, accent-insensitive, on the start of a name.
	run(t, ctx, "search",
		chromedp.Navigate(base+"/users?view=all"),
		chromedp.WaitVisible("#q", chromedp.ByID),
		chromedp.SendKeys("#q", "elo", chromedp.ByID),
		chromedp.Submit("#q", chromedp.ByID),
		waitForURL("q=elo"))
	names := texts(t, ctx, "table.users tbody td:nth-child(2)")
	if len(names) == 0 {
		t.Fatal("search found nobody")
	}
	for _, n := range names {
		if !strings.HasPrefix(mfa.Fold(n), "elo") {
			t.Fatalf("search elo shows %q", n)
		}
	}
	run(t, ctx, "search nothing",
		chromedp.Navigate(base+"/users?view=all&q=qqqq"),
		chromedp.WaitVisible("[data-testid=empty]", chromedp.ByQuery))

	// Next page, then open a user from it.
	run(t, ctx, "first page", chromedp.Navigate(base+"/users?view=all"), chromedp.WaitVisible("table.users", chromedp.ByQuery))
	page1 := texts(t, ctx, "table.users tbody td:nth-child(3)")
	run(t, ctx, "next page", chromedp.Click("a[rel=next]", chromedp.ByQuery), chromedp.WaitVisible("a[rel=prev]", chromedp.ByQuery))
	if p := text(t, ctx, ".pager .pos"); p != "page 2" {
		t.Fatalf("pager says %q", p)
	}
	page2 := texts(t, ctx, "table.users tbody td:nth-child(3)")
	if len(page2) != 100 || slices.Contains(page1, page2[0]) {
		t.Fatalf("page 2 has %d rows, first %q", len(page2), page2[0])
	}
	name := texts(t, ctx, "table.users tbody td:nth-child(2)")[0]
	run(t, ctx, "open user",
		chromedp.Click("table.users tbody tr:first-child td:nth-child(2) a", chromedp.ByQuery),
		chromedp.WaitVisible("[data-testid=user-heading]", chromedp.ByQuery))
	if h := text(t, ctx, "[data-testid=user-heading]"); h != name {
		t.Fatalf("user page of %q shows %q", name, h)
	}
	run(t, ctx, "back", chromedp.Click("main p a", chromedp.ByQuery), chromedp.WaitVisible("a[rel=prev]", chromedp.ByQuery))
	if p := text(t, ctx, ".pager .pos"); p != "page 2" {
		t.Fatalf("back link lost the page: %q", p)
	}

	// Select all: the quick steps pane counts the selection.
	run(t, ctx, "select all",
		chromedp.Click("input.select-all", chromedp.ByQuery),
		chromedp.WaitVisible("aside.quick .many", chromedp.ByQuery))
	if got := text(t, ctx, "aside.quick .many .count"); got != "100" {
		t.Fatalf("quick steps count %q", got)
	}

	// Sign out: back to sign-in, and the pages are closed again.
	run(t, ctx, "sign out",
		chromedp.Click("header form button", chromedp.ByQuery),
		chromedp.WaitVisible("#username", chromedp.ByID))
	if msg := text(t, ctx, "[role=status]"); !strings.Contains(msg, "signed out") {
		t.Fatalf("after sign-out: %q", msg)
	}
	run(t, ctx, "users after sign-out", chromedp.Navigate(base+"/users"), chromedp.WaitVisible("#username", chromedp.ByID))
}
