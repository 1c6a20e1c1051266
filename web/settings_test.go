package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

func settingsForm(over map[string]string) url.Values {
	f := url.Values{"appPasswords": {"deny"}, "call": {"true"}, "sms": {"true"}, "appNotification": {"true"}, "appCode": {"true"}, "rememberDays": {"14"}, "ranges": {""}}
	for k, v := range over {
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
	}
	return f
}

func TestSettingsPageSavesAndRefusesBadInput(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleGlobalAdmin)
	_, doc := e.get(c, "/settings")
	for _, label := range []string{"app passwords", "trusted ips", "verification options", "remember multi-factor authentication"} {
		if !strings.Contains(doc.Find("form.settings h2").Text(), label) {
			t.Errorf("section %q missing", label)
		}
	}
	if doc.Find(`input[name=appPasswords][value=deny][checked]`).Length() != 1 || doc.Find("#rememberDays").AttrOr("value", "") != "14" {
		t.Fatal("defaults not shown")
	}
	resp, _ := e.postForm(c, "/settings", settingsForm(map[string]string{"appPasswords": "allow", "skipForRanges": "true",
		"ranges": "203.0.113.0/24\r\n198.51.100.7/32", "sms": "", "rememberMfa": "true", "rememberDays": "30"}))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/settings?saved=1" {
		t.Fatalf("save: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	s, _ := e.db.LoadSettings(context.Background())
	if !s.AppPasswordsAllowed || !s.TrustedIPs.SkipForRanges || len(s.TrustedIPs.Ranges) != 2 || s.VerificationOptions.SMS || !s.RememberMFA.Enabled || s.RememberMFA.Days != 30 {
		t.Fatalf("saved %+v", s)
	}
	page, _ := e.db.FindAudit(context.Background(), mfa.AuditFilter{Action: mfa.AuditSaveSettings, Limit: 5})
	if len(page.Records) != 1 || !strings.Contains(page.Records[0].After, "remember days: 30") || strings.Contains(page.Records[0].After, "call to phone") {
		t.Fatalf("audit %+v", page.Records)
	}
	// Bad input: every error named, what was typed kept, nothing saved.
	resp, doc = e.postForm(c, "/settings", settingsForm(map[string]string{"appPasswords": "maybe", "ranges": "203.0.113.0/24\n10.0.0.0/33\n2001:db8::/32",
		"call": "", "sms": "", "appNotification": "", "appCode": "", "rememberDays": "abc"}))
	if resp.StatusCode != 400 {
		t.Fatalf("bad input: %d", resp.StatusCode)
	}
	text := doc.Find("form.settings").Text()
	for _, want := range []string{"found \"maybe\"", "line 2: \"10.0.0.0/33\"", "line 3: \"2001:db8::/32\" is an IPv6 range", "at least one verification option", "found \"abc\""} {
		if !strings.Contains(text, want) {
			t.Errorf("missing error %q", want)
		}
	}
	if got := doc.Find("#ranges").Text(); got != "203.0.113.0/24\n10.0.0.0/33\n2001:db8::/32" || doc.Find("#rememberDays").AttrOr("value", "") != "abc" {
		t.Errorf("typed values lost: %q", got)
	}
	if s2, _ := e.db.LoadSettings(context.Background()); s2.AppPasswordsAllowed != s.AppPasswordsAllowed || len(s2.TrustedIPs.Ranges) != 2 || s2.RememberMFA.Days != 30 {
		t.Fatal("bad input changed the settings")
	}
	for days, ok := range map[string]bool{"0": false, "366": false, "1": true, "365": true} {
		resp, _ := e.postForm(c, "/settings", settingsForm(map[string]string{"rememberDays": days}))
		if (resp.StatusCode == http.StatusSeeOther) != ok {
			t.Errorf("days %s: %d", days, resp.StatusCode)
		}
	}
	if resp, _ := e.postForm(c, "/settings", settingsForm(map[string]string{"skipForRanges": "true", "ranges": "0.0.0.0/0"})); resp.StatusCode != 400 {
		t.Errorf("0.0.0.0/0 accepted")
	}
}

func TestSettingsReadOnlyForOtherRoles(t *testing.T) {
	e := newTestEnv(t)
	for _, role := range []mfa.Role{mfa.RoleAuthAdmin, mfa.RoleHelpdesk, mfa.RoleReader} {
		c := e.signedIn(role)
		resp, doc := e.get(c, "/settings")
		if resp.StatusCode != 200 || doc.Find("[data-testid=read-only]").Length() != 1 || doc.Find("button[type=submit]").Length() != 1 /* sign out */ {
			t.Errorf("%s: %d, read-only note %d", role, resp.StatusCode, doc.Find("[data-testid=read-only]").Length())
		}
		if doc.Find("fieldset[disabled]").Length() != 4 {
			t.Errorf("%s: form not disabled", role)
		}
		resp, _ = e.postForm(c, "/settings", settingsForm(map[string]string{"appPasswords": "allow"}))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s posting: %d", role, resp.StatusCode)
		}
	}
	if s, _ := e.db.LoadSettings(context.Background()); s.AppPasswordsAllowed {
		t.Fatal("a refused post changed the settings")
	}
}

func TestSettingsAPI(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleGlobalAdmin)
	do := func(method, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, e.srv.URL+"/api/v1/settings", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		json.Unmarshal(b, &out)
		return resp.StatusCode, out
	}
	code, out := do("GET", "")
	if code != 200 || out["rememberMfa"].(map[string]any)["days"] != float64(14) || out["verificationOptions"].(map[string]any)["appCode"] != true {
		t.Fatalf("get: %d %v", code, out)
	}
	good := `{"appPasswordsAllowed":true,"trustedIps":{"skipForFederatedIntranet":false,"skipForRanges":true,"ranges":["203.0.113.0/24"]},
		"verificationOptions":{"call":true,"sms":false,"appNotification":true,"appCode":true},"rememberMfa":{"enabled":true,"days":7}}`
	if code, out := do("PUT", good); code != 200 || out["appPasswordsAllowed"] != true {
		t.Fatalf("put: %d %v", code, out)
	}
	for body, field := range map[string]string{
		strings.Replace(good, `"days":7`, `"days":0`, 1):                           "rememberMfa.days",
		strings.Replace(good, `"203.0.113.0/24"`, `"203.0.113.1/24"`, 1):           "trustedIps.ranges",
		strings.Replace(good, `"call":true`, `"call":"yes"`, 1):                    "verificationOptions.call",
		`{"appPasswordsAllowed":true}`:                                             "",
		`{not json`:                                                                "",
		strings.Replace(good, `"appPasswordsAllowed":true`, `"appPasswords":1`, 1): "appPasswords",
	} {
		code, out := do("PUT", body)
		if code != 400 || out["error"] == "" || (field != "" && out["field"] != field) {
			t.Errorf("%.60s: %d %v (want field %s)", body, code, out, field)
		}
	}
	if s, _ := e.db.LoadSettings(context.Background()); s.RememberMFA.Days != 7 {
		t.Fatal("a refused PUT changed the settings")
	}
	r := e.signedIn(mfa.RoleHelpdesk)
	req, _ := http.NewRequest("PUT", e.srv.URL+"/api/v1/settings", strings.NewReader(good))
	resp, _ := r.Do(req)
	if resp.StatusCode != 403 {
		t.Fatalf("helpdesk PUT: %d", resp.StatusCode)
	}
}
