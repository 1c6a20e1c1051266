package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// SPEC §10: Disable for a while is a quick step on the users page too, for the roles that may
// change a state: hours next to the field when wrong, then per user the step's result (an admin
// the role may not act on refused, a Disabled user left as is), each exemption audited.
func TestDisableForAWhileAsAQuickStep(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	ctx := context.Background()
	for _, to := range []mfa.State{mfa.StateEnabled, mfa.StateEnforced} {
		if _, _, err := e.app.svc.SetState(ctx, mfa.CLIActor, mfa.StateRequest{UPN: "step.user@contoso.com", To: to}); err != nil {
			t.Fatal(err)
		}
	}
	e.app.svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader("UserPrincipalName,DisplayName\nstill.off@contoso.com,Still Off\n"), mfa.DefaultCSVLimits)
	for role, want := range map[mfa.Role]int{mfa.RoleAuthAdmin: 1, mfa.RoleGlobalAdmin: 1, mfa.RoleHelpdesk: 0, mfa.RoleReader: 0} {
		_, doc := e.get(e.signedIn(role), "/users?view=all")
		if n := doc.Find(`aside.quick button[data-step="exempt"]`).Length(); n != want || want == 1 && doc.Find(`button[data-step="exempt"]`).Text() != "Disable for a while" {
			t.Errorf("%s: %d Disable for a while buttons", role, n)
		}
	}
	c := e.signedIn(mfa.RoleAuthAdmin)
	sels := []string{sel(e.user("step.user@contoso.com")), sel(e.user("step.admin@contoso.com")), sel(e.user("still.off@contoso.com"))}
	resp, form, doc := e.confirm(c, "exempt", sels...)
	if resp.StatusCode != 200 || doc.Find("#step-title").Text() != "Disable for a while" || doc.Find("#step-hours").Length() != 1 ||
		doc.Find(`[data-testid="applicable"]`).Text() != "2 users" {
		t.Fatalf("confirm: %d %q", resp.StatusCode, strings.Join(strings.Fields(doc.Find("#step-dialog").Text()), " "))
	}
	for _, hours := range []string{"0", "721", "two", ""} {
		form.Set("hours", hours)
		resp, doc = e.postForm(c, "/users/step", form)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(doc.Find("#err-step-hours[role=alert]").Text(), "720") {
			t.Errorf("%q hours: %d %q", hours, resp.StatusCode, doc.Find("#step-dialog [role=alert]").Text())
		}
	}
	if e.user("step.user@contoso.com").State != mfa.StateEnforced {
		t.Fatal("refused hours changed a user")
	}
	form.Set("hours", "48")
	form.Set("reason", "travelling")
	resp, _ = e.postForm(c, "/users/step", form)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "result=") {
		t.Fatalf("apply: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, doc = e.get(c, resp.Header.Get("Location"))
	results := strings.Join(strings.Fields(doc.Find("#result-dialog").Text()), " ")
	for _, want := range []string{"step.user@contoso.com", "changed", "step.admin@contoso.com", "refused", "still.off@contoso.com", "already Disabled"} {
		if !strings.Contains(results, want) {
			t.Errorf("results lack %q: %q", want, results)
		}
	}
	ex, err := e.app.svc.GetExemption(ctx, mfa.CLIActor, "step.user@contoso.com")
	if err != nil || ex == nil || ex.Previous != mfa.StateEnforced || ex.Reason != "travelling" || !ex.Until.Equal(ex.StartedAt.Add(48*time.Hour)) {
		t.Fatalf("exemption %+v %v", ex, err)
	}
	if e.user("step.user@contoso.com").State != mfa.StateDisabled || e.user("step.admin@contoso.com").State != mfa.StateEnabled {
		t.Error("states after the step")
	}
	page, err := e.db.FindAudit(ctx, mfa.AuditFilter{Target: "step.user@contoso.com", Limit: 1})
	if err != nil || len(page.Records) != 1 || page.Records[0].Action != mfa.AuditExemptionStart || page.Records[0].Source != mfa.SourcePage {
		t.Errorf("audit %+v %v", page, err)
	}
	// A selection older than the user: changed meanwhile, nothing done.
	e.app.svc.EndExemption(ctx, mfa.CLIActor, "step.user@contoso.com", mfa.SourceCLI)
	_, form, _ = e.confirm(c, "exempt", "1 step.user@contoso.com")
	form.Set("hours", "2")
	resp, _ = e.postForm(c, "/users/step", form)
	_, doc = e.get(c, resp.Header.Get("Location"))
	if !strings.Contains(doc.Find("#result-dialog").Text(), "changed meanwhile") || e.user("step.user@contoso.com").State != mfa.StateEnforced {
		t.Errorf("stale selection: %q", strings.Join(strings.Fields(doc.Find("#result-dialog").Text()), " "))
	}
}
