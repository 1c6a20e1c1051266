package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/mfaportal/mfaportal/mfa"
)

// Eight identical submissions of one confirmation at once apply the step once: the one-time id
// is taken atomically. (A step on "all matching users" carries no versions that would refuse a
// second application: it re-applies unless the id stops it.)
func TestConfirmationAppliesOnceUnderParallelSubmissions(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	before := e.user("step.user@contoso.com")
	filter := "view=all&status=any&q=step.user"
	_, doc := e.postForm(c, "/users/confirm", url.Values{"step": {"manage"}, "all": {"1"}, "filter": {filter}, "return": {"/users?" + filter}})
	form := url.Values{}
	doc.Find("#step-dialog input[type=hidden]").Each(func(_ int, s *goquery.Selection) {
		form.Add(s.AttrOr("name", ""), s.AttrOr("value", ""))
	})
	form.Set("rememberedDevices", "true")
	// A clock that moves at every reading: each application of the reset changes the user again.
	var tick atomic.Int64
	e.app.svc.Now = func() time.Time { return e.now.Add(time.Duration(tick.Add(1)) * time.Millisecond) }
	// Eight connections open beforehand, so that the submissions reach the server together.
	c.Transport = &http.Transport{MaxIdleConnsPerHost: 8}
	var warm sync.WaitGroup
	for range 8 {
		warm.Go(func() { e.get(c, "/healthz") })
	}
	warm.Wait()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			<-start
			resp, err := c.PostForm(e.srv.URL+"/users/step", form)
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	close(start)
	wg.Wait()
	page, _ := e.db.FindAudit(context.Background(), mfa.AuditFilter{Target: "step.user@contoso.com", Action: mfa.AuditResetUser, Limit: 20})
	if len(page.Records) != 1 {
		t.Fatalf("8 parallel submissions applied %d times", len(page.Records))
	}
	if v := e.user("step.user@contoso.com").Version; v != before.Version+1 {
		t.Fatalf("version %d after one change from %d", v, before.Version)
	}
}

// A bulk job is seen and acted on by its owner and by global admins only; discarding is audited.
func TestBulkJobsBelongToTheirOwner(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	e.withBulk()
	if err := e.db.CreateAccount(context.Background(), &mfa.Account{Name: "auth2", Role: mfa.RoleAuthAdmin, PasswordHash: testHash(), CreatedAt: e.now, UpdatedAt: e.now}); err != nil {
		t.Fatal(err)
	}
	owner := e.signedIn(mfa.RoleAuthAdmin)
	other := e.client()
	e.signIn(other, "auth2", testPassword, "")
	resp, _ := e.upload(owner, "f.csv", "Username,MFA Status\nstep.user@contoso.com,Enabled\n")
	id := strings.TrimPrefix(resp.Request.URL.Path, "/bulk/")
	if resp.StatusCode != http.StatusOK || len(id) != 16 {
		t.Fatalf("upload: %d %q", resp.StatusCode, resp.Request.URL.Path)
	}
	for _, path := range []string{"/bulk/" + id, "/bulk/" + id + "/status", "/bulk/" + id + "/results.csv", "/api/v1/bulk/" + id} {
		if resp, err := other.Get(e.srv.URL + path); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("another authentication admin reads %s: %v", path, resp.StatusCode)
		}
	}
	if _, doc := e.get(other, "/bulk"); strings.Contains(doc.Text(), id) {
		t.Error("another authentication admin sees the job in the list")
	}
	for _, path := range []string{"/bulk/" + id + "/cancel", "/bulk/" + id + "/start", "/api/v1/bulk/" + id + "/cancel"} {
		if resp, _ := e.postForm(other, path, url.Values{}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another authentication admin posts %s: %d", path, resp.StatusCode)
		}
	}
	e.postForm(other, "/bulk/"+id+"/back", url.Values{}) // back to step 1, as for a job gone
	if j, err := e.db.FindJob(context.Background(), id); err != nil || j.Status != mfa.JobPlanned {
		t.Fatalf("the job after another admin's attempts: %+v %v", j, err)
	}
	global := e.signedIn(mfa.RoleGlobalAdmin)
	if resp, _ := e.get(global, "/bulk/"+id); resp.StatusCode != http.StatusOK {
		t.Fatalf("a global admin reads the job: %d", resp.StatusCode)
	}
	if resp, _ := e.postForm(global, "/bulk/"+id+"/back", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a global admin discards it: %d", resp.StatusCode)
	}
	page, _ := e.db.FindAudit(context.Background(), mfa.AuditFilter{Action: mfa.AuditBulkDiscard, Limit: 5})
	if len(page.Records) != 1 || page.Records[0].ActorName != "global-admin" || page.Records[0].Target != "bulk:"+id {
		t.Fatalf("discard audit: %+v", page.Records)
	}
}

// A verified file nobody starts expires after the plan TTL: it can no longer be started, and the
// janitor deletes it with its rows.
func TestVerifiedBulkJobsExpire(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	e.withBulk()
	e.app.svc.BulkPlanTTL = 30 * time.Minute // within the session's idle time, for the test
	c := e.signedIn(mfa.RoleGlobalAdmin)
	resp, _ := e.upload(c, "f.csv", "Username,MFA Status\nstep.user@contoso.com,Enabled\n")
	id := strings.TrimPrefix(resp.Request.URL.Path, "/bulk/")
	e.now = e.now.Add(31 * time.Minute)
	if resp, doc := e.postForm(c, "/bulk/"+id+"/start", url.Values{}); resp.StatusCode == http.StatusSeeOther || !strings.Contains(doc.Text(), "expired") {
		t.Fatalf("starting an expired plan: %d", resp.StatusCode)
	}
	if n, err := e.app.svc.ExpireBulkPlans(context.Background()); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	if _, err := e.db.FindJob(context.Background(), id); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Fatalf("the expired plan is still there: %v", err)
	}
	if e.user("step.user@contoso.com").State != mfa.StateDisabled {
		t.Fatal("an expired plan changed a user")
	}
}

// The API's dry run deletes its plan, also when the client goes away while the rows are sent.
func TestAPIDryRunLeavesNoPlan(t *testing.T) {
	e := newTestEnv(t)
	e.withBulk()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	var file strings.Builder
	file.WriteString("Username,MFA Status\n")
	for i := range 20000 {
		file.WriteString("nobody" + strings.Repeat("x", i%7) + "@contoso.com,Enabled\n")
	}
	planned := func() int {
		jobs, err := e.db.ListJobs(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(jobs)
	}
	resp, err := c.Post(e.srv.URL+"/api/v1/bulk?dryRun=true", "text/csv", strings.NewReader(file.String()))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n := planned(); resp.StatusCode != 200 || n != 0 {
		t.Fatalf("after a dry run: %d, %d jobs kept", resp.StatusCode, n)
	}
	// The client reads a few bytes and hangs up.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/api/v1/bulk?dryRun=true", strings.NewReader(file.String()))
	req.Header.Set("Content-Type", "text/csv")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(resp.Body, make([]byte, 100))
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for planned() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := planned(); n != 0 {
		t.Fatalf("a dry run whose client went away left %d plans", n)
	}
}

// Bodies are read under a short deadline, bulk uploads under a long one.
func TestBodyReadDeadlines(t *testing.T) {
	e := newTestEnvWith(t, func(cfg *Config, _ string) { cfg.BodyReadTimeout = 300 * time.Millisecond })
	e.withBulk()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	slow := func(path, ct, head, tail string, stall time.Duration) (int, error) {
		pr, pw := io.Pipe()
		go func() {
			io.WriteString(pw, head)
			time.Sleep(stall)
			io.WriteString(pw, tail)
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, pr)
		req.Header.Set("Content-Type", ct)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// A form body that stops coming is cut off: the request fails instead of holding on.
	done := make(chan struct{})
	go func() {
		code, err := slow("/settings", "application/x-www-form-urlencoded", "appPasswords=", "allow", time.Hour)
		if err == nil && code < 400 {
			t.Errorf("a stalled form body was accepted: %d", code)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a stalled form body held the request")
	}
	// A bulk upload may take longer than the short deadline.
	code, err := slow("/api/v1/bulk?dryRun=true", "text/csv", "Username,MFA Status\n", "a@contoso.com,Enabled\n", time.Second)
	if err != nil || code != 200 {
		t.Fatalf("a slow bulk upload: %d %v", code, err)
	}
}
