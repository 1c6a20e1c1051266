package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/sender"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
)

// outboxes are the `log` sender's outbox file of each portal, by base URL.
var outboxes sync.Map

// newSelfService is a portal's users' pages, with the evaluation sender writing to an outbox the
// tests read the phone codes from.
func newSelfService(t *testing.T, db *sqlite.DB, base string) *mfa.SelfService {
	t.Helper()
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	outboxes.Store(base, outbox)
	self, err := mfa.NewSelfService(mfa.SelfService{Directory: db, Settings: db, Store: db, Sender: &sender.Log{Path: outbox}, PublicURL: base})
	if err != nil {
		t.Fatal(err)
	}
	return self
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// lastCode is the code of the newest message in a portal's outbox.
func lastCode(t *testing.T, base string) string {
	t.Helper()
	path, _ := outboxes.Load(base)
	f, err := os.Open(path.(string))
	if err != nil {
		t.Fatalf("outbox: %v", err)
	}
	defer f.Close()
	var last struct{ Message string }
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		json.Unmarshal(sc.Bytes(), &last)
	}
	return sixDigits.FindString(last.Message)
}

const userPassword = "the user's own long password"

// userBrowser is the user's own Chromium: its own cookies, nothing of the admin's.
func userBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowser(t)
}

// setupLinkFor has the admin create a setup link on the user's page and answers it.
func setupLinkFor(t *testing.T, admin context.Context, base, upn string) string {
	t.Helper()
	var link string
	run(t, admin, "create setup link",
		chromedp.Navigate(base+"/users/"+upn),
		chromedp.Click(`//button[normalize-space()="create setup link"]`, chromedp.BySearch),
		chromedp.WaitVisible("[data-testid=setup-link-url]", chromedp.ByQuery),
		chromedp.Value("[data-testid=setup-link-url]", &link, chromedp.ByQuery))
	if !strings.HasPrefix(link, base+"/my/setup/") {
		t.Fatalf("setup link %q", link)
	}
	// A reload asks for the user's page again rather than making another link (which would end
	// this one: the callers go on with it).
	var at string
	run(t, admin, "reload", chromedp.Reload(), chromedp.WaitVisible("h2", chromedp.ByQuery), chromedp.Location(&at))
	if at != base+"/users/"+upn || strings.Contains(text(t, admin, "main"), link) {
		t.Fatalf("after a reload at %s the setup link is shown again, or the page is another", at)
	}
	return link
}

// setPasswordAndSignIn opens the setup link in the user's browser, sets the password, and signs in.
func setPasswordAndSignIn(t *testing.T, user context.Context, link, upn string) {
	t.Helper()
	run(t, user, "set your password",
		chromedp.Navigate(link),
		chromedp.WaitVisible(`//h1[normalize-space()="Set your password"]`, chromedp.BySearch),
		chromedp.SendKeys(`//label[normalize-space()="New password"]/following-sibling::input`, userPassword, chromedp.BySearch),
		chromedp.SendKeys(`//label[normalize-space()="Confirm password"]/following-sibling::input`, userPassword, chromedp.BySearch),
		chromedp.Click(`//button[normalize-space()="set password"]`, chromedp.BySearch),
		chromedp.WaitVisible("[data-testid=notice]", chromedp.ByQuery))
	userSignIn(t, user, upn)
}

// userSignIn signs in at /my/signin; the page after it is the caller's to wait for.
func userSignIn(t *testing.T, user context.Context, upn string) {
	t.Helper()
	run(t, user, "sign in as "+upn,
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", upn, chromedp.ByID),
		chromedp.SendKeys("#password", userPassword, chromedp.ByID),
		chromedp.Click(`//button[normalize-space()="sign in"]`, chromedp.BySearch))
}

// signOutAndIn signs the user out and in again.
func signOutAndIn(t *testing.T, user context.Context, upn string) {
	t.Helper()
	run(t, user, "sign out", chromedp.Click(`//header//button[normalize-space()="sign out"]`, chromedp.BySearch))
	userSignIn(t, user, upn)
}

func heading(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	run(t, ctx, "page "+want, chromedp.WaitVisible(`//h1[normalize-space()="`+want+`"]`, chromedp.BySearch))
}

// manageUserSettings applies one option of Manage user settings, and only that one, from the
// user's page.
func manageUserSettings(t *testing.T, admin context.Context, base, upn, option string) {
	t.Helper()
	run(t, admin, "manage user settings: "+option,
		chromedp.Navigate(base+"/users/"+upn),
		chromedp.Click(`//form[@class="user-steps"]//button[normalize-space()="Manage user settings"]`, chromedp.BySearch),
		chromedp.WaitVisible("#step-dialog", chromedp.ByID),
		chromedp.Evaluate(`(() => { for (const l of document.querySelectorAll("#step-dialog label")) {
			const i = l.querySelector("input[type=checkbox]"); if (i) i.checked = l.textContent.includes(`+"`"+option+"`"+`) } })()`, nil),
		chromedp.Click(`//dialog//button[normalize-space()="save"]`, chromedp.BySearch),
		chromedp.WaitVisible("#result-dialog", chromedp.ByID))
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
