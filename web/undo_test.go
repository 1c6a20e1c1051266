package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// TestUndoInTheWizard: a finished update offers "undo this update", which plans a job shown on its
// own verify page; a user changed since is skipped until the admin includes them.
func TestUndoInTheWizard(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	e.withBulk()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	resp, _ := e.upload(c, "users.csv", "Username,MFA Status\nstep.user@contoso.com,Enforced\nstep.admin@contoso.com,Disabled\n")
	jobPath := resp.Request.URL.Path
	if resp, _ := e.postForm(c, jobPath+"/undo", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("undo of a job not started: %d", resp.StatusCode)
	}
	e.postForm(c, jobPath+"/start", nil)
	e.waitJob(c, strings.TrimPrefix(jobPath, "/bulk/"))
	_, doc := e.get(c, jobPath)
	if doc.Find(`[data-testid="undo"]`).Text() != "undo this update" {
		t.Fatalf("the done page offers no undo: %q", doc.Find("main").Text())
	}
	// step.admin is enabled again by someone else.
	if _, _, err := e.app.svc.SetState(context.Background(), mfa.CLIActor, mfa.StateRequest{UPN: "step.admin@contoso.com", To: mfa.StateEnabled}); err != nil {
		t.Fatal(err)
	}
	resp, _ = e.postForm(c, jobPath+"/undo", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("undo: %d", resp.StatusCode)
	}
	undoPath := resp.Header.Get("Location")
	_, doc = e.get(c, undoPath)
	if !strings.Contains(doc.Find(`[data-testid="undo-of"]`).Text(), strings.TrimPrefix(jobPath, "/bulk/")) ||
		doc.Find("[data-count=disable]").Text() != "1" || doc.Find("[data-count=errors]").Text() != "1" ||
		doc.Find(`[data-testid="include-changed"]`).Length() != 1 {
		t.Fatalf("undo verify page: %q", strings.Join(strings.Fields(doc.Find("main").Text()), " "))
	}
	// Include the user changed since: a new plan replaces this one.
	resp, _ = e.postForm(c, jobPath+"/undo", map[string][]string{"include": {"changed"}, "discard": {strings.TrimPrefix(undoPath, "/bulk/")}})
	newPath := resp.Header.Get("Location")
	_, doc = e.get(c, newPath)
	if doc.Find("[data-count=disable]").Text() != "1" || doc.Find("[data-count=unchanged]").Text() != "1" || doc.Find("[data-count=errors]").Text() != "0" {
		t.Fatalf("undo including changed users: %q", doc.Find("[data-testid=counts]").Text())
	}
	if resp, _ := c.Get(e.srv.URL + undoPath); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the replaced plan is still there: %d", resp.StatusCode)
	}
	e.postForm(c, newPath+"/start", nil)
	e.waitJob(c, strings.TrimPrefix(newPath, "/bulk/"))
	if e.user("step.user@contoso.com").State != mfa.StateDisabled {
		t.Errorf("step.user was not put back")
	}
	hd := e.signedIn(mfa.RoleHelpdesk)
	if resp, _ := e.postForm(hd, jobPath+"/undo", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("helpdesk undid: %d", resp.StatusCode)
	}
}
