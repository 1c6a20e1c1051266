package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// A bad value in the users page's link is named by its parameter, never repeated: no page shows
// text taken from its URL (SPEC §9), so a link cannot make the page say "call this number". The
// export refuses it the same way, without claiming to show anything instead.
func TestUsersLinkValuesAreNotRepeated(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	const planted = "Your account is locked call 555 0100"
	q := url.QueryEscape(planted)
	for _, param := range []string{"view", "status", "privileged", "methods", "sort", "order", "limit"} {
		resp, doc := e.get(c, "/users?"+param+"="+q)
		if resp.StatusCode != http.StatusOK || strings.Contains(doc.Text(), "555 0100") {
			t.Errorf("/users?%s=…: %d, the page repeats the link's text", param, resp.StatusCode)
		}
		if n := doc.Find(".notice").Text(); !strings.Contains(n, param) && !strings.Contains(n, "page size") {
			t.Errorf("/users?%s=…: the notice does not name the parameter: %q", param, n)
		}
		resp, doc = e.get(c, "/users/export?"+param+"="+q)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(doc.Text(), "555 0100") || strings.Contains(doc.Text(), "showing") {
			t.Errorf("/users/export?%s=…: %d %q", param, resp.StatusCode, doc.Find("[role=alert]").Text())
		}
	}
	_, doc := e.get(c, "/users?methods=sms")
	if n := doc.Find(".notice").Text(); !strings.Contains(n, "unknown methods in the link: expected any, none or phone-only; showing any.") {
		t.Errorf("notice %q", n)
	}
}

// The audit log's filters and the bulk preview's page link likewise: a bad value is refused by
// its parameter's name, never repeated on the page.
func TestAuditAndBulkLinkValuesAreNotRepeated(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	e.withBulk()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	const planted = "call 555 0100" // short: the old messages kept 20 or 30 characters
	q := url.QueryEscape(planted)
	for _, param := range []string{"since", "until", "action", "before"} {
		resp, doc := e.get(c, "/audit?"+param+"="+q)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(doc.Find("[role=alert]").Text(), "555 0100") || doc.Find("[role=alert]").Length() == 0 {
			t.Errorf("/audit?%s=…: %d %q", param, resp.StatusCode, doc.Find("[role=alert]").Text())
		}
	}
	resp, _ := e.upload(c, "users.csv", "Username,MFA Status\nstep.user@contoso.com,Enabled\n")
	resp, doc := e.get(c, resp.Request.URL.Path+"?after="+q)
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(doc.Text(), "555 0100") || !strings.Contains(doc.Find("[role=alert]").Text(), "row number") {
		t.Errorf("bulk preview ?after=…: %d %q", resp.StatusCode, doc.Find("[role=alert]").Text())
	}
}
