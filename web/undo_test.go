package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// TestUndoInTheWizard: a finished update offers "undo this update", which plans a job shown on its
// own verify page; a user changed since is skipped until the admin includes them.
func TestUndoInTheWizard(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	e.withBulk()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	resp, doc := e.upload(c, "users.csv", "Username,MFA Status\nstep.user@contoso.com,Enforced\nstep.admin@contoso.com,Disabled\n")
	jobPath := resp.Request.URL.Path
	if got := strings.Join(strings.Fields(doc.Find(`[data-testid="rows-total"]`).Text()), " "); got != "2 rows in the file:" {
		t.Errorf("verify page of a file: %q", got)
	}
	if resp, _ := e.postForm(c, jobPath+"/undo", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("undo of a job not started: %d", resp.StatusCode)
	}
	e.postForm(c, jobPath+"/start", nil)
	e.waitJob(c, strings.TrimPrefix(jobPath, "/bulk/"))
	_, doc = e.get(c, jobPath)
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
	// Its rows come from no file.
	if got := strings.Join(strings.Fields(doc.Find(`[data-testid="rows-total"]`).Text()), " "); got != "2 rows in the plan:" ||
		doc.Find(`ol.wizard li`).First().Text() != "Plan the undo" {
		t.Errorf("undo verify page: %q, first step %q", got, doc.Find(`ol.wizard li`).First().Text())
	}
	// undo this update again (the job page in another tab, a double click): the plan made above,
	// not one more.
	if resp, _ := e.postForm(c, jobPath+"/undo", nil); resp.Header.Get("Location") != undoPath {
		t.Errorf("a second undo: %d %q, want the plan %q", resp.StatusCode, resp.Header.Get("Location"), undoPath)
	}
	// Include the user changed since: a new plan replaces this one.
	resp, _ = e.postForm(c, jobPath+"/undo", map[string][]string{"include": {"changed"}, "discard": {strings.TrimPrefix(undoPath, "/bulk/")}})
	newPath := resp.Header.Get("Location")
	if newPath == undoPath || newPath == "" {
		t.Fatalf("including users changed since led to %q", newPath)
	}
	if resp, _ := e.postForm(c, jobPath+"/undo", nil); resp.Header.Get("Location") != newPath {
		t.Errorf("undo after including: %q, want the plan %q", resp.Header.Get("Location"), newPath)
	}
	// An admin's plan is theirs: another admin gets a plan of their own.
	other := e.signedIn(mfa.RoleAuthAdmin)
	if resp, _ := e.postForm(other, jobPath+"/undo", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == newPath {
		t.Errorf("another admin's undo: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
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
	// Started: undo this update plans afresh (every user now changed since), and a plan left
	// until it expired is not led to either.
	resp, _ = e.postForm(c, jobPath+"/undo", nil)
	fresh := resp.Header.Get("Location")
	if fresh == newPath || fresh == "" {
		t.Errorf("undo after the undo ran: %d %q", resp.StatusCode, fresh)
	}
	e.now = e.now.Add(mfa.DefaultBulkPlanTTL + time.Minute)
	c = e.signedIn(mfa.RoleGlobalAdmin) // the session of a day ago has expired
	if resp, _ := e.postForm(c, jobPath+"/undo", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == fresh {
		t.Errorf("undo after the plan expired: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	hd := e.signedIn(mfa.RoleHelpdesk)
	if resp, _ := e.postForm(hd, jobPath+"/undo", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("helpdesk undid: %d", resp.StatusCode)
	}
}
