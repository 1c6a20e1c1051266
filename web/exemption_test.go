package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func TestDisableForAWhile(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	ctx := context.Background()
	e.app.svc.SetState(ctx, mfa.CLIActor, mfa.StateRequest{UPN: "step.user@contoso.com", To: mfa.StateEnabled})
	c := e.signedIn(mfa.RoleAuthAdmin)
	path := "/users/step.user@contoso.com"
	_, doc := e.get(c, path)
	if doc.Find(`[data-testid="exempt"]`).Text() != "Disable for a while" {
		t.Fatalf("no Disable for a while: %q", doc.Find("main").Text())
	}
	// Bad hours: the error next to the field, in the form left open with what was typed.
	for _, hours := range []string{"0", "721", "two"} {
		resp, doc := e.postForm(c, path+"/exemption", url.Values{"hours": {hours}, "reason": {"trip"}})
		typed, _ := doc.Find("#hours").Attr("value")
		reason, _ := doc.Find("#exempt-reason").Attr("value")
		_, open := doc.Find("details.exempt").Attr("open")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(doc.Find("#err-hours[role=alert]").Text(), "720") ||
			!open || typed != hours || reason != "trip" {
			t.Errorf("%s hours: %d, error %q, open %v, typed %q %q", hours, resp.StatusCode, doc.Find("#err-hours").Text(), open, typed, reason)
		}
	}
	if e.user("step.user@contoso.com").State != mfa.StateEnabled {
		t.Fatal("a refused exemption changed the user")
	}
	// An authentication admin may not exempt an admin.
	if resp, doc := e.postForm(c, "/users/step.admin@contoso.com/exemption", url.Values{"hours": {"2"}}); resp.StatusCode != http.StatusForbidden ||
		!strings.Contains(doc.Find(".notice").Text(), "admin role") {
		t.Errorf("exempting an admin: %d %q", resp.StatusCode, doc.Find(".notice").Text())
	}
	resp, _ := e.postForm(c, path+"/exemption", url.Values{"hours": {"48"}, "reason": {"travelling"}})
	if resp.StatusCode != http.StatusSeeOther || e.user("step.user@contoso.com").State != mfa.StateDisabled {
		t.Fatalf("exempt: %d", resp.StatusCode)
	}
	e.now = e.now.Add(time.Hour)
	_, doc = e.get(c, path)
	if got := doc.Find(`[data-testid="exemption-left"]`).Text(); got != "47 hours" || !strings.Contains(doc.Find(`[data-testid="exemption"]`).Text(), "back to Enabled") {
		t.Errorf("the user page shows %q", doc.Find(`[data-testid="exemption"]`).Text())
	}
	_, doc = e.get(e.signedIn(mfa.RoleReader), "/exemptions")
	if rows := doc.Find(`[data-testid="exemptions"] tbody tr`); rows.Length() != 1 || !strings.Contains(rows.Text(), "travelling") || doc.Find(`button`).Length() > 1 {
		t.Errorf("the list: %q", doc.Find("main").Text())
	}
	resp, _ = e.postForm(c, path+"/exemption/end", nil)
	if resp.StatusCode != http.StatusSeeOther || e.user("step.user@contoso.com").State != mfa.StateEnabled {
		t.Fatalf("end now: %d %s", resp.StatusCode, e.user("step.user@contoso.com").State)
	}

	// The API, with a token of an authentication admin.
	secret, _, err := e.app.svc.CreateToken(ctx, mfa.CLIActor, "ops", mfa.RoleAuthAdmin)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{"hours":0}`, `{"hours":721}`, `{}`, `{"hours":"2"}`} {
		if code, out, _ := e.apiCall("POST", "/api/v1/users/step.user@contoso.com/exemption", "Bearer "+secret, body); code != 400 || out["field"] != "hours" {
			t.Errorf("%s: %d %v", body, code, out)
		}
	}
	if code, _, _ := e.apiCall("POST", "/api/v1/users/step.admin@contoso.com/exemption", "Bearer "+secret, `{"hours":2}`); code != 403 {
		t.Errorf("API exemption of an admin: %d", code)
	}
	code, out, _ := e.apiCall("POST", "/api/v1/users/step.user@contoso.com/exemption", "Bearer "+secret, `{"hours":2,"reason":"api"}`)
	ex, _ := out["exemption"].(map[string]any)
	if code != 200 || ex["previousState"] != "enabled" || out["user"].(map[string]any)["perUserMfaState"] != "disabled" {
		t.Fatalf("API exemption: %d %v", code, out)
	}
	if code, _, _ := e.apiCall("DELETE", "/api/v1/users/step.user@contoso.com/exemption", "Bearer "+secret, ""); code != 200 || e.user("step.user@contoso.com").State != mfa.StateEnabled {
		t.Errorf("API end: %d", code)
	}
}
