package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/mfaportal/mfaportal/mfa"
)

// withBulk gives the test server a job store and a running bulk runner.
func (e *testEnv) withBulk() {
	e.app.svc.Jobs = e.db
	ctx, cancel := context.WithCancel(context.Background())
	r := mfa.NewBulkRunner(e.app.svc, func(msg string, err error) { e.t.Errorf("%s: %v", msg, err) })
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

func (e *testEnv) upload(c *http.Client, name, content string) (*http.Response, *goquery.Document) {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	io.WriteString(fw, content)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/bulk", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSeeOther { // verified: on to step 2
		return e.get(c, resp.Header.Get("Location"))
	}
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	return resp, doc
}

func (e *testEnv) waitJob(c *http.Client, id string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.Get(e.srv.URL + "/bulk/" + id + "/status")
		if err != nil {
			e.t.Fatal(err)
		}
		var st map[string]any
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if st["finished"] == true {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s did not finish: %v", id, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBulkWizard(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	e.withBulk()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	_, doc := e.get(c, "/bulk")
	if doc.Find("label[for=file]").Text() != "Browse for file" || doc.Find(`a[href="/bulk/template.csv"]`).Length() != 1 {
		t.Fatalf("step 1: %q", doc.Find("main").Text())
	}
	resp, err := c.Get(e.srv.URL + "/bulk/template.csv")
	if err != nil {
		t.Fatal(err)
	}
	tpl, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(tpl), "Username,MFA Status\r\n") || strings.Count(string(tpl), "\n") != 3 {
		t.Fatalf("template %q", tpl)
	}
	// A file that cannot be read: refused with the message next to the file input.
	resp, doc = e.upload(c, "bad.csv", "Name,Status\nx,y\n")
	if resp.StatusCode != 400 || !strings.Contains(doc.Find("[data-testid=file-error]").Text(), `"Username" and "MFA Status"`) {
		t.Fatalf("bad file: %d %q", resp.StatusCode, doc.Find("[data-testid=file-error]").Text())
	}
	// Step 2: counts and the preview, nothing changed yet.
	file := "Username;MFA Status\nstep.user@contoso.com;Enforced\nstep.admin@contoso.com;Disabled\nghost@contoso.com;Enabled\n"
	resp, doc = e.upload(c, "users.csv", file)
	if resp.StatusCode != 200 || doc.Find("[data-count=enforce]").Text() != "1" || doc.Find("[data-count=errors]").Text() != "1" {
		t.Fatalf("verify: %d %q", resp.StatusCode, doc.Find("[data-testid=counts]").Text())
	}
	if !strings.Contains(doc.Find("[data-testid=apply-summary]").Text(), "update 2 users applies the 2 valid rows; 1 row is skipped (0 already in that state, 1 with errors).") {
		t.Fatalf("summary %q", doc.Find("[data-testid=apply-summary]").Text())
	}
	rows := doc.Find("[data-testid=preview] tbody tr")
	if rows.Length() != 3 || !strings.Contains(rows.Eq(0).Text(), "Disabled → Enforced") || !strings.Contains(rows.Eq(2).Text(), "unknown user") ||
		!strings.Contains(rows.Eq(1).Text(), "holds an admin role") {
		t.Fatalf("preview %q", rows.Text())
	}
	if e.user("step.user@contoso.com").State != mfa.StateDisabled {
		t.Fatal("verifying changed a user")
	}
	jobPath := resp.Request.URL.Path
	resp, err = c.Get(e.srv.URL + jobPath + "/errors.csv")
	if err != nil {
		t.Fatal(err)
	}
	errs, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(errs), "4,ghost@contoso.com,Enabled,unknown user") {
		t.Fatalf("errors.csv %q", errs)
	}
	// Step 3: apply, progress to Done, results.
	resp, _ = e.postForm(c, jobPath+"/start", map[string][]string{"reason": {"CHG-1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	st := e.waitJob(c, strings.TrimPrefix(jobPath, "/bulk/"))
	if st["status"] != "done" || st["changed"] != float64(2) || st["total"] != float64(2) {
		t.Fatalf("job %v", st)
	}
	_, doc = e.get(c, jobPath)
	if doc.Find("[data-testid=job-title]").Text() != "Done" {
		t.Fatalf("done page %q", doc.Find("main").Text())
	}
	resp, _ = c.Get(e.srv.URL + jobPath + "/results.csv")
	results, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"2,step.user@contoso.com,Enforced,Disabled,enforce,changed,Enforced", "4,ghost@contoso.com,Enabled,,error,skipped,unknown user"} {
		if !strings.Contains(string(results), want) {
			t.Errorf("results.csv lacks %q:\n%s", want, results)
		}
	}
	if e.user("step.user@contoso.com").State != mfa.StateEnforced || e.user("step.admin@contoso.com").State != mfa.StateDisabled {
		t.Fatal("the job did not change the users")
	}
	// Starting it again (double submit) only shows it.
	resp, _ = e.postForm(c, jobPath+"/start", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("restart: %d", resp.StatusCode)
	}
}

func TestBulkExportRoundTrip(t *testing.T) {
	e := newTestEnv(t)
	e.withBulk()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	resp, err := c.Get(e.srv.URL + "/users/export?view=all")
	if err != nil {
		t.Fatal(err)
	}
	export, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, doc := e.upload(c, "export.csv", string(export))
	if doc.Find("[data-count=errors]").Text() != "0" || doc.Find("[data-count=unchanged]").Text() != "251" {
		t.Fatalf("the export is not accepted unchanged: %q", doc.Find("[data-testid=counts]").Text())
	}
}

func TestBulkRoles(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	e.withBulk()
	for _, role := range []mfa.Role{mfa.RoleHelpdesk, mfa.RoleReader} {
		c := e.signedIn(role)
		if resp, _ := e.get(c, "/bulk"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s opens the wizard: %d", role, resp.StatusCode)
		}
		if resp, _ := e.upload(c, "f.csv", "Username,MFA Status\nstep.user@contoso.com,Enabled\n"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s uploads: %d", role, resp.StatusCode)
		}
	}
	aa := e.signedIn(mfa.RoleAuthAdmin)
	_, doc := e.upload(aa, "f.csv", "Username,MFA Status\nstep.admin@contoso.com,Disabled\nstep.user@contoso.com,Enabled\n")
	if !strings.Contains(doc.Find("[data-testid=preview]").Text(), "may not change step.admin@contoso.com") {
		t.Fatalf("auth admin preview: %q", doc.Find("[data-testid=preview]").Text())
	}
}

func TestBulkAPI(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	e.withBulk()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	post := func(path, body, ct string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	file := "Username,MFA Status\nstep.user@contoso.com,Enabled\nnobody@contoso.com,Enabled\nstep.user@contoso.com,Disabled\n"
	code, plan := post("/api/v1/bulk?dryRun=true", file, "text/csv")
	if code != 200 {
		t.Fatalf("dry run: %d %v", code, plan)
	}
	counts := plan["counts"].(map[string]any)
	rows := plan["rows"].([]any)
	if counts["enable"] != float64(1) || counts["errors"] != float64(2) || len(rows) != 3 {
		t.Fatalf("plan %v", plan)
	}
	r0 := rows[0].(map[string]any)
	if r0["line"] != float64(2) || r0["action"] != "enable" || r0["from"] != "disabled" || r0["to"] != "enabled" {
		t.Fatalf("row %v", r0)
	}
	if e.user("step.user@contoso.com").State != mfa.StateDisabled {
		t.Fatal("a dry run changed a user")
	}
	for body, want := range map[string]string{"": "empty", "Username,MFA Status\n": "no rows", "\x00\x01\x02": "not a text file"} {
		code, out := post("/api/v1/bulk?dryRun=true", body, "text/csv")
		if code != 400 || !strings.Contains(fmt.Sprint(out["error"]), want) {
			t.Errorf("%q: %d %v", body, code, out)
		}
	}
	if code, _ := post("/api/v1/bulk?dryRun=maybe", file, "text/csv"); code != 400 {
		t.Errorf("dryRun=maybe: %d", code)
	}
	if code, _ := post("/api/v1/bulk", file, "application/json"); code != 400 {
		t.Errorf("wrong content type: %d", code)
	}
	code, started := post("/api/v1/bulk", "Username,MFA Status\nstep.user@contoso.com,Enabled\n", "text/csv")
	if code != 202 || started["id"] == "" {
		t.Fatalf("start: %d %v", code, started)
	}
	id := started["id"].(string)
	e.waitJob(c, id)
	resp, _ := c.Get(e.srv.URL + "/api/v1/bulk/" + id)
	var job map[string]any
	json.NewDecoder(resp.Body).Decode(&job)
	resp.Body.Close()
	if job["status"] != "done" || job["changed"] != float64(1) || job["done"] != float64(1) {
		t.Fatalf("job %v", job)
	}
	if code, _ := post("/api/v1/bulk/"+id+"/cancel", "", ""); code != 409 {
		t.Errorf("cancel a finished job: %d", code)
	}
	if resp, _ := c.Get(e.srv.URL + "/api/v1/bulk/nope"); resp.StatusCode != 404 {
		t.Errorf("unknown job: %d", resp.StatusCode)
	}
}
