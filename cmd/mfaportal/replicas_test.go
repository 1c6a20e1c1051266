package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/postgres/pgtest"
)

// replicaPassword is the admin's password in the two-replica test.
const replicaPassword = "replica-test-password"

// TestTwoReplicas runs two mfaportal processes on one PostgreSQL database, started together (they
// seed the demo tenant and create the admin one after the other), with 3-second leases: what one
// changes the other shows, a session and a confirmation work across them, the sign-in throttle
// counts on both, a bulk job runs once, and when the process running a job is killed with SIGKILL
// the other takes it over and finishes it with every row applied exactly once.
func TestTwoReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary twice")
	}
	bin := buildPortal(t)
	dbURL := pgtest.URL(t)
	env := []string{"MFAPORTAL_DATABASE_URL=" + dbURL, "MFAPORTAL_AUDIT_KEY=" + testAuditKey, "MFAPORTAL_ADMIN_PASSWORD=" + replicaPassword}
	const n = 20000
	args := []string{"--demo-users", fmt.Sprint(n), "--lease-ttl", "3s", "--trusted-proxies", "127.0.0.1/32"}
	a, b := launchPortal(t, bin, env, args...), launchPortal(t, bin, env, args...)
	a.ready(t, replicaPassword)
	b.ready(t, replicaPassword)
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var users int
	conn.QueryRow(context.Background(), "SELECT count(*) FROM users").Scan(&users)
	if users != n {
		t.Fatalf("%d users after both replicas started, want the demo tenant's %d once", users, n)
	}
	demo := demoUsers(n)

	t.Run("a session from one works on the other", func(t *testing.T) {
		c := signedInClient(t, a)
		if resp := get(t, c, b.base+"/users"); resp.Request.URL.Path != "/users" {
			t.Fatalf("the session from a, on b: ended at %s", resp.Request.URL)
		}
		resp, err := c.PostForm(b.base+"/signout", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp := get(t, c, a.base+"/users"); resp.Request.URL.Path != "/signin" {
			t.Fatalf("signed out on b, still signed in on a: %s", resp.Request.URL)
		}
	})

	t.Run("a user's security info works across both", func(t *testing.T) {
		var u mfa.User
		for _, d := range demo[3:1000] {
			if d.State == mfa.StateEnabled && d.AccountEnabled && !d.Privileged && len(d.Methods) == 0 {
				u = d
				break
			}
		}
		resp, err := a.client.PostForm(a.base+"/users/"+url.PathEscape(u.UPN)+"/setup-link", nil)
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := goquery.NewDocumentFromReader(resp.Body)
		resp.Body.Close()
		link, _ := doc.Find("[data-testid=setup-link-url]").Attr("value")
		path := strings.TrimPrefix(link, a.base)
		if !strings.HasPrefix(path, "/my/setup/") {
			t.Fatalf("setup link for %s on a: %q (%s)", u.UPN, link, resp.Status)
		}
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		const pw = "a user's long password"
		resp, err = c.PostForm(b.base+path, url.Values{"password": {pw}, "confirm": {pw}}) // the link, used on b
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		resp, err = c.PostForm(a.base+"/my/signin", url.Values{"username": {u.UPN}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		at := resp.Request.URL.Path
		if !strings.HasPrefix(at, "/my") || at == "/my/signin" {
			t.Fatalf("the user's sign-in on a, with the password set on b: ended at %s", at)
		}
		if resp := get(t, c, b.base+at); resp.Request.URL.Path != at {
			t.Fatalf("the user's session from a, on b: %s ended at %s", at, resp.Request.URL.Path)
		}
	})

	t.Run("a change on one is seen on the other", func(t *testing.T) {
		u := demo[1]
		to := nextState[u.State]
		body := fmt.Sprintf(`{"state": %q}`, to)
		if status, out := send(t, a.client, "POST", a.base+"/api/v1/users/"+url.PathEscape(u.UPN)+"/state", body); status != 200 {
			t.Fatalf("set state on a: %d %s", status, out)
		}
		var got struct {
			State mfa.State `json:"perUserMfaState"`
		}
		getJSON(t, b.client, b.base+"/api/v1/users/"+url.PathEscape(u.UPN), &got)
		if got.State != to {
			t.Fatalf("b shows %s, a set %s", got.State, to)
		}
		var settings map[string]any
		getJSON(t, a.client, a.base+"/api/v1/settings", &settings)
		options := settings["verificationOptions"].(map[string]any)
		options["sms"] = !options["sms"].(bool)
		changed, _ := json.Marshal(settings)
		if status, out := send(t, a.client, "PUT", a.base+"/api/v1/settings", string(changed)); status != 200 {
			t.Fatalf("settings on a: %d %s", status, out)
		}
		var seen struct{ VerificationOptions mfa.VerificationOptions }
		getJSON(t, b.client, b.base+"/api/v1/settings", &seen)
		if seen.VerificationOptions.SMS != options["sms"] {
			t.Fatalf("b's settings after a's change: %v", seen)
		}
	})

	t.Run("a confirmation sent eight times to both applies once", func(t *testing.T) {
		u := demo[2]
		for _, d := range demo[3:100] {
			if u.State != mfa.StateDisabled {
				u = d
			}
		}
		form := confirmStep(t, a, "enable", u.UPN)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 8 {
			p := []*portal{a, b}[i%2]
			wg.Go(func() {
				<-start
				resp, err := p.client.PostForm(p.base+"/users/step", form)
				if err == nil {
					resp.Body.Close()
				}
			})
		}
		close(start)
		wg.Wait()
		if n := pgAuditCount(t, conn, "target_key = $1 AND action LIKE 'state.%'", mfa.NormalizeUPN(u.UPN)); n != 1 {
			t.Fatalf("8 submissions on two replicas applied %d times", n)
		}
		// The result is shown by either replica.
		for _, p := range []*portal{a, b} {
			resp := get(t, p.client, p.base+"/users?result="+form.Get("op"))
			doc, _ := goquery.NewDocumentFromReader(resp.Body)
			resp.Body.Close()
			if s := doc.Text(); !strings.Contains(s, "Updates successful") || strings.Contains(s, "no longer available") {
				t.Fatalf("%s does not show the result", p.base)
			}
		}
	})

	t.Run("the sign-in throttle counts on both", func(t *testing.T) {
		for i := range 10 {
			p := []*portal{a, b}[i%2]
			if status := signInFrom(t, p, "203.0.113.7", fmt.Sprint("nobody", i), "wrong"); status != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i+1, status)
			}
		}
		for _, p := range []*portal{a, b} {
			if status := signInFrom(t, p, "203.0.113.7", "admin", replicaPassword); status != http.StatusTooManyRequests {
				t.Fatalf("the 11th try from the address, on %s: %d", p.base, status)
			}
		}
		if status := signInFrom(t, b, "198.51.100.1", "admin", replicaPassword); status != http.StatusSeeOther {
			t.Fatalf("another address: %d", status)
		}
	})

	t.Run("a bulk job runs once", func(t *testing.T) {
		rows := demo[100:600]
		id := startBulk(t, b, rows) // queued on b, run by whichever holds the runner's lease
		j := waitJob(t, []*portal{a, b}, id, 120*time.Second)
		if j["status"] != "done" || j["changed"] != float64(len(rows)) {
			t.Fatalf("job: %v", j)
		}
		records := pgAuditCount(t, conn, "source = $1 AND action LIKE 'state.%'", "bulk:"+id)
		targets := pgAuditCount(t, conn, "source = $1 AND action LIKE 'state.%' GROUP BY target_key HAVING count(*) = 1", "bulk:"+id)
		if records != len(rows) || targets != len(rows) {
			t.Fatalf("%d audit records for %d users each recorded once, want %d", records, targets, len(rows))
		}
	})

	t.Run("kill -9 of the runner mid-job and take-over", func(t *testing.T) {
		rows := demo[1000:]
		id := startBulk(t, a, rows)
		holder, survivor := runnerHolder(t, conn, a, b)
		if !holdsRunner(t, holder) || holdsRunner(t, survivor) {
			t.Fatal("mfaportal_lease_held does not say which replica runs the bulk jobs")
		}
		var epoch int64
		conn.QueryRow(context.Background(), "SELECT epoch FROM leases WHERE name = 'bulk-runner'").Scan(&epoch)
		deadline := time.Now().Add(60 * time.Second)
		for {
			var status string
			var done int
			conn.QueryRow(context.Background(), "SELECT status, done FROM bulk_jobs WHERE id = $1", id).Scan(&status, &done)
			if status == "running" && done > 0 {
				break
			}
			if status == "done" || time.Now().After(deadline) {
				t.Fatalf("could not catch the job mid-way: %s, %d done", status, done)
			}
			time.Sleep(2 * time.Millisecond)
		}
		holder.cmd.Process.Signal(syscall.SIGKILL)
		holder.cmd.Wait()
		killed := time.Now()
		var status string
		var done int
		conn.QueryRow(context.Background(), "SELECT status, done FROM bulk_jobs WHERE id = $1", id).Scan(&status, &done)
		if status != "running" || done >= len(rows) {
			t.Fatalf("the job was not stopped mid-way by the kill: %s, %d of %d done", status, done, len(rows))
		}
		// The survivor takes the lease over within a minute (3 s and a second here), under a new epoch.
		for {
			var h string
			var e int64
			conn.QueryRow(context.Background(), "SELECT holder, epoch FROM leases WHERE name = 'bulk-runner' AND expires_at > now()").Scan(&h, &e)
			if e > epoch && strings.Contains(h, fmt.Sprintf("/%d/", survivor.cmd.Process.Pid)) {
				break
			}
			if time.Since(killed) > time.Minute {
				t.Fatalf("no take-over within a minute (holder %q, epoch %d)", h, e)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !holdsRunner(t, survivor) {
			t.Fatal("the survivor's mfaportal_lease_held does not show the take-over")
		}
		j := waitJob(t, []*portal{survivor}, id, 180*time.Second)
		if j["status"] != "done" || j["done"] != float64(len(rows)) || j["changed"] != float64(len(rows)) || j["failed"] != float64(0) {
			t.Fatalf("after the take-over: %v", j)
		}
		records := pgAuditCount(t, conn, "source = $1 AND action LIKE 'state.%'", "bulk:"+id)
		targets := pgAuditCount(t, conn, "source = $1 AND action LIKE 'state.%' GROUP BY target_key HAVING count(*) = 1", "bulk:"+id)
		if records != len(rows) || targets != len(rows) {
			t.Fatalf("%d audit records for %d users each recorded once, want %d", records, targets, len(rows))
		}
		wrong := 0
		for _, u := range rows {
			var state mfa.State
			conn.QueryRow(context.Background(), "SELECT state FROM users WHERE upn_key = $1", mfa.NormalizeUPN(u.UPN)).Scan(&state)
			if state != nextState[u.State] {
				wrong++
			}
		}
		if wrong > 0 {
			t.Fatalf("%d users do not have the state the file asked for", wrong)
		}
		cliEnv := map[string]string{"MFAPORTAL_DATABASE_URL": dbURL, "MFAPORTAL_AUDIT_KEY": testAuditKey}
		if code, out, errs := runCLIEnv(t, cliEnv, "", "audit", "verify"); code != 0 || !strings.Contains(out, "intact") {
			t.Fatalf("audit verify: %d %s %s", code, out, errs)
		}
	})
}

// nextState is the state each demo user is moved to: a change for everyone.
var nextState = map[mfa.State]mfa.State{mfa.StateDisabled: mfa.StateEnabled, mfa.StateEnabled: mfa.StateEnforced, mfa.StateEnforced: mfa.StateDisabled}

func demoUsers(n int) []mfa.User {
	var out []mfa.User
	for u := range mfa.DemoUsers(n) {
		out = append(out, u)
	}
	return out
}

// signedInClient is a new client (its own cookie jar) signed in as admin on p.
func signedInClient(t *testing.T, p *portal) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.PostForm(p.base+"/signin", url.Values{"username": {"admin"}, "password": {replicaPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/users" {
		t.Fatalf("sign in on %s: %s", p.base, resp.Request.URL)
	}
	return c
}

// get answers GET u, its body closed.
func get(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	resp := get(t, c, u)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// send sends a JSON body and answers the status and the body.
func send(t *testing.T, c *http.Client, method, u, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// confirmStep opens a quick step's dialog for one user on p and answers its form, with
// its one-time id.
func confirmStep(t *testing.T, p *portal, step, upn string) url.Values {
	t.Helper()
	filter := "view=all&status=any&q=" + url.QueryEscape(upn)
	resp, err := p.client.PostForm(p.base+"/users/confirm", url.Values{"step": {step}, "all": {"1"}, "filter": {filter}, "return": {"/users?" + filter}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{}
	doc.Find("#step-dialog input[type=hidden]").Each(func(_ int, s *goquery.Selection) {
		form.Add(s.AttrOr("name", ""), s.AttrOr("value", ""))
	})
	if form.Get("op") == "" {
		t.Fatalf("no confirmation id in the dialog (%s)", resp.Status)
	}
	return form
}

// signInFrom signs in on p as a client at addr behind the trusted proxy (X-Forwarded-For) and
// answers the status (303: signed in).
func signInFrom(t *testing.T, p *portal, addr, name, password string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", p.base+"/signin", strings.NewReader(url.Values{"username": {name}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// startBulk starts a bulk update moving rows to their next state through p's API.
func startBulk(t *testing.T, p *portal, rows []mfa.User) string {
	t.Helper()
	var file strings.Builder
	file.WriteString("Username,MFA Status\n")
	for _, u := range rows {
		fmt.Fprintf(&file, "%s,%s\n", u.UPN, nextState[u.State].Label())
	}
	resp, err := p.client.Post(p.base+"/api/v1/bulk", "text/csv", strings.NewReader(file.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		out, _ := io.ReadAll(resp.Body)
		t.Fatalf("bulk: %s %s", resp.Status, out)
	}
	var started struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&started)
	return started.ID
}

// waitJob polls the job on the portals in turn until it is finished.
func waitJob(t *testing.T, ps []*portal, id string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for i := 0; ; i++ {
		j := ps[i%len(ps)].job(t, id)
		if j["finished"] == true {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job did not finish within %v: %v", within, j)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runnerHolder answers which of a and b holds the bulk runner's lease (by its process id, part of
// the holder's name), and the other.
func runnerHolder(t *testing.T, conn *pgx.Conn, a, b *portal) (holder, other *portal) {
	t.Helper()
	var h string
	if err := conn.QueryRow(context.Background(), "SELECT holder FROM leases WHERE name = 'bulk-runner'").Scan(&h); err != nil {
		t.Fatal(err)
	}
	switch {
	case strings.Contains(h, fmt.Sprintf("/%d/", a.cmd.Process.Pid)):
		return a, b
	case strings.Contains(h, fmt.Sprintf("/%d/", b.cmd.Process.Pid)):
		return b, a
	}
	t.Fatalf("the runner's lease is held by %q, neither replica", h)
	return nil, nil
}

// pgAuditCount counts the audit records (or groups) matching where.
func pgAuditCount(t *testing.T, conn *pgx.Conn, where string, arg any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM (SELECT 1 FROM audit WHERE "+where+") AS r", arg).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// holdsRunner answers whether p's metrics say it holds the bulk runner's lease.
func holdsRunner(t *testing.T, p *portal) bool {
	t.Helper()
	resp := get(t, p.client, p.base+"/metrics")
	body, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(body), `mfaportal_lease_held{lease="bulk-runner"} 1`)
}
