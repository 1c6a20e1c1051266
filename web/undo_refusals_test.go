package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// Undo of an update still running, or of one that changed no user, is refused with its reason on
// the job's page (issue 14: a clear message, nothing changed).
func TestUndoRefusalsAreSaid(t *testing.T) {
	t.Run("still running", func(t *testing.T) {
		e := newTestEnv(t)
		e.stepUsers()
		e.app.svc.Jobs = e.db // no runner: a started job stays queued
		c := e.signedIn(mfa.RoleGlobalAdmin)
		resp, _ := e.upload(c, "users.csv", "Username,MFA Status\nstep.user@contoso.com,Enforced\n")
		jobPath := resp.Request.URL.Path
		e.postForm(c, jobPath+"/start", nil)
		resp, doc := e.postForm(c, jobPath+"/undo", nil)
		if msg := doc.Find("[role=alert]").Text(); resp.StatusCode != http.StatusConflict || !strings.Contains(msg, "still") {
			t.Errorf("undo of a queued job: %d, alert %q", resp.StatusCode, msg)
		}
	})
	t.Run("changed nothing", func(t *testing.T) {
		e := newTestEnv(t)
		e.stepUsers()
		e.withBulk()
		c := e.signedIn(mfa.RoleGlobalAdmin)
		same := e.user("step.user@contoso.com").State.Label()
		resp, _ := e.upload(c, "users.csv", "Username,MFA Status\nstep.user@contoso.com,"+same+"\n")
		jobPath := resp.Request.URL.Path
		e.postForm(c, jobPath+"/start", nil)
		e.waitJob(c, strings.TrimPrefix(jobPath, "/bulk/"))
		resp, doc := e.postForm(c, jobPath+"/undo", nil)
		if msg := doc.Find("[role=alert]").Text(); resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "changed no user") {
			t.Errorf("undo of a job that changed nothing: %d, alert %q", resp.StatusCode, msg)
		}
	})
}
