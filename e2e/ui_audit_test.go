package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/mfaportal/mfaportal/mfa"
)

// apiPost calls the JSON API from the page with the browser's session, as the page's own script
// would, and answers the status.
func apiPost(t *testing.T, ctx context.Context, path, body string) int {
	t.Helper()
	var status int
	run(t, ctx, "POST "+path, evalAsync(fmt.Sprintf(`fetch(%q, {method: "POST", credentials: "same-origin",
		headers: {"Content-Type": "application/json"}, body: %q}).then(r => r.status)`, path, body), &status))
	return status
}

// timesAreLocal checks every <time> of the page: it holds the UTC instant, shows it in the tab's
// time zone (Tokyo), and says UTC in the title (what a reader without JavaScript sees).
func timesAreLocal(t *testing.T, ctx context.Context, what string) int {
	t.Helper()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	type shown struct{ Datetime, Text, Title string }
	var times []shown
	run(t, ctx, "times", chromedp.Evaluate(`Array.from(document.querySelectorAll("time[data-local]")).map(e => ({Datetime: e.getAttribute("datetime"), Text: e.textContent, Title: e.title}))`, &times))
	for _, tm := range times {
		at, err := time.Parse(time.RFC3339, tm.Datetime)
		if err != nil || !strings.HasSuffix(tm.Datetime, "Z") {
			t.Errorf("%s: <time datetime=%q> is not a UTC instant", what, tm.Datetime)
			continue
		}
		if want := at.In(tokyo).Format("2006-01-02 15:04") + " GMT+9"; tm.Text != want {
			t.Errorf("%s: %s shows %q, want %q in the reader's time zone", what, tm.Datetime, tm.Text, want)
		}
		if want := at.UTC().Format("2006-01-02 15:04") + " UTC"; tm.Title != want {
			t.Errorf("%s: %s has the title %q, want the UTC time %q", what, tm.Datetime, tm.Title, want)
		}
	}
	return len(times)
}

// TestAuditLogAndTimesInBrowser: the audit log reads in words in a compact layout, its CSV keeps
// the codes, and times show in the reader's time zone on the audit log, a user's page and the
// bulk update jobs (UTC in the HTML the server sends).
func TestAuditLogAndTimesInBrowser(t *testing.T) {
	s := newUISession(t)
	ctx := s.tab(t)
	open(t, ctx, s.base+"/users", "#selection")
	for _, c := range [][2]string{{"fix.d@contoso.com", `{"state": "enabled", "reason": "a long reason that a narrow column would wrap into a tower of words, one or two a line"}`},
		{"fix.a@contoso.com", `{"state": "enforced"}`}, {"fix.a@contoso.com", `{"state": "disabled"}`}} {
		if code := apiPost(t, ctx, "/api/v1/users/"+c[0]+"/state", c[1]); code != 200 {
			t.Fatalf("change %s: %d", c[0], code)
		}
	}
	if code := apiPost(t, ctx, "/api/v1/users/fix.c@contoso.com/reset", `{"contactMethods": true}`); code != 200 {
		t.Fatalf("reset: %d", code)
	}
	// The job runs in the background: wait until it is done, so its record is in the log (under a
	// loaded machine the page was read before the runner had applied the row).
	var status string
	run(t, ctx, "bulk job", evalAsync(`(async () => {
		const r = await fetch("/api/v1/bulk", {method: "POST", credentials: "same-origin",
			headers: {"Content-Type": "text/csv"}, body: "Username,MFA Status\r\nfix.b@contoso.com,Enforced\r\n"});
		if (r.status != 202) return "POST " + r.status;
		const id = (await r.json()).id;
		for (let i = 0; i < 300; i++) {
			const j = await (await fetch("/api/v1/bulk/" + id, {credentials: "same-origin"})).json();
			if (j.status == "done" || j.status == "cancelled") return j.status;
			await new Promise(ok => setTimeout(ok, 100));
		}
		return "still running after 30 s";
	})()`, &status))
	if status != "done" {
		t.Fatalf("bulk job: %s", status)
	}
	run(t, ctx, "Tokyo", emulation.SetTimezoneOverride("Asia/Tokyo"), emulate(desktop, false))

	t.Run("actions in words", func(t *testing.T) {
		open(t, ctx, s.base+"/audit", "[data-testid=audit]")
		actions := texts(t, ctx, "[data-testid=audit] tbody td.action")
		want := []string{"enforced MFA", "started a bulk update", "reset contact methods", "disabled MFA", "enforced MFA", "enabled MFA"}
		if len(actions) < len(want) || strings.Join(actions[:len(want)], ",") != strings.Join(want, ",") {
			t.Errorf("actions %q, want %q first", actions, want)
		}
		code := regexp.MustCompile(`^[a-z-]+\.[a-z-]+$`)
		for _, a := range actions {
			if code.MatchString(a) {
				t.Errorf("the action %q is shown as a code", a)
			}
		}
		// The filter offers every action in words, by its code.
		options := eval[[][2]string](t, ctx, `Array.from(document.querySelectorAll("#action option")).slice(1).map(o => [o.value, o.textContent])`)
		if len(options) != len(mfa.AuditActions) {
			t.Fatalf("the action filter offers %d actions, want %d", len(options), len(mfa.AuditActions))
		}
		for i, o := range options {
			if o[0] != mfa.AuditActions[i] || o[1] != mfa.AuditLabel(o[0]) {
				t.Errorf("action option %q", o)
			}
		}
	})

	t.Run("compact, no towers", func(t *testing.T) {
		open(t, ctx, s.base+"/audit", "[data-testid=audit]")
		// The filters are one bar: every control on one line at the desktop width.
		tops := eval[[]float64](t, ctx, `Array.from(document.querySelectorAll("form.filters > *")).map(e => Math.round(e.getBoundingClientRect().bottom))`)
		for _, b := range tops {
			if b != tops[0] {
				t.Errorf("the filter bar spans several lines (bottoms %v)", tops)
				break
			}
		}
		// No cell is a tower: a line holds 20 characters or more, and short values stay on one.
		cells := eval[[][]any](t, ctx, `Array.from(document.querySelectorAll("[data-testid=audit] tbody td")).map(td => {
			const r = document.createRange(); r.selectNodeContents(td);
			const lines = new Set(Array.from(r.getClientRects()).filter(b => b.width > 0).map(b => Math.round(b.bottom)));
			return [td.className, td.textContent.trim().replace(/\s+/g, " "), lines.size] })`)
		for _, c := range cells {
			class, text, lines := c[0].(string), c[1].(string), int(c[2].(float64))
			limit := max(1, (len([]rune(text))+19)/20)
			if class == "by" {
				limit = 3 // name; role and sign-in method; source and address
			}
			if lines > limit || (class == "nowrap" || class == "action") && lines > 1 {
				t.Errorf("a %q cell %q (%d characters) takes %d lines", class, text, len([]rune(text)), lines)
			}
		}
		shot(t, ctx, "audit-desktop")
	})

	t.Run("CSV export keeps the codes", func(t *testing.T) {
		var csv string
		run(t, ctx, "export", evalAsync(`fetch("/audit/export", {credentials: "same-origin"}).then(r => r.text())`, &csv))
		lines := strings.Split(strings.TrimPrefix(csv, "\ufeff"), "\r\n")
		if lines[0] != strings.Join(mfa.AuditCSVHeader, ",") || !strings.Contains(csv, ",state.enable,fix.d@contoso.com,") || strings.Contains(csv, "enabled MFA") {
			t.Errorf("export: %q", lines[:min(3, len(lines))])
		}
	})

	t.Run("times in the reader's time zone", func(t *testing.T) {
		pages := []struct{ path, ready string }{
			{"/audit", "[data-testid=audit]"},
			{"/users/fix.c@contoso.com", "[data-testid=history]"},
			{"/accounts", "#name"},
			{"/bulk", "[data-testid=jobs]"},
		}
		for _, p := range pages {
			open(t, ctx, s.base+p.path, p.ready)
			if n := timesAreLocal(t, ctx, p.path); n == 0 {
				t.Errorf("%s shows no times", p.path)
			}
		}
		// Every time on a user's page is the reader's, also the exemption's end and a new setup
		// link's expiry: no "… UTC" is left on the page.
		if code := apiPost(t, ctx, "/api/v1/users/fix.c@contoso.com/exemption", `{"hours": 5}`); code != 200 {
			t.Fatalf("exemption: %d", code)
		}
		open(t, ctx, s.base+"/users/fix.c@contoso.com", "[data-testid=exemption]")
		run(t, ctx, "setup link", chromedp.Click(`//button[normalize-space()="create setup link"]`, chromedp.BySearch),
			chromedp.WaitVisible("[data-testid=setup-link]", chromedp.ByQuery))
		timesAreLocal(t, ctx, "user page with an exemption and a setup link")
		if utc := eval[[]string](t, ctx, `document.body.innerText.match(/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC/g) || []`); len(utc) > 0 {
			t.Errorf("the user page shows %q in UTC only", utc)
		}
		// The server's HTML says UTC: that is what shows where no script runs.
		var html string
		run(t, ctx, "raw", evalAsync(`fetch("/audit", {credentials: "same-origin"}).then(r => r.text())`, &html))
		if !regexp.MustCompile(`<time datetime="[0-9T:-]+Z" data-local>[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC</time>`).MatchString(html) {
			t.Error("the audit log's HTML has no <time> with UTC text")
		}
	})
}
