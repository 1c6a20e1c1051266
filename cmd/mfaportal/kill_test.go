package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// portal is a real mfaportal process on a free loopback port.
type portal struct {
	cmd    *exec.Cmd
	base   string
	client *http.Client
	logs   *syncBuffer
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// buildPortal builds the mfaportal binary into a temporary folder (go build's cache makes it a
// link after the first time).
func buildPortal(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mfaportal")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// launchPortal starts `bin serve` on a free port with env added to the environment and args; it
// is killed when the test ends. Wait for it with ready.
func launchPortal(t *testing.T, bin string, env []string, args ...string) *portal {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--log-level", "warn"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	jar, _ := cookiejar.New(nil)
	return &portal{cmd: cmd, base: "http://" + addr, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}, logs: logs}
}

// ready waits until the portal answers /readyz, and signs its client in as admin with password.
func (p *portal) ready(t *testing.T, password string) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the portal did not start:\n%s", p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := p.client.PostForm(p.base+"/signin", url.Values{"username": {"admin"}, "password": {password}})
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/users" {
		t.Fatalf("sign in: ended at %s (%s)\n%s", resp.Request.URL, resp.Status, p.logs.String())
	}
}

func startProcess(t *testing.T, bin, data string, users int) *portal {
	t.Helper()
	p := launchPortal(t, bin, []string{"MFAPORTAL_ADMIN_PASSWORD=kill-test-password"}, "--data", data, "--demo-users", fmt.Sprint(users))
	p.ready(t, "kill-test-password")
	return p
}

func (p *portal) job(t *testing.T, id string) map[string]any {
	t.Helper()
	resp, err := p.client.Get(p.base + "/api/v1/bulk/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return out
}

// TestBulkJobSurvivesKill9 starts a bulk job in a real server process, kills the process with
// SIGKILL in the middle, starts it again on the same data folder, and checks that the job finishes
// with every row applied exactly once.
func TestBulkJobSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildPortal(t)
	const n = 20000
	data := filepath.Join(dir, "data")
	p := startProcess(t, bin, data, n)

	var file strings.Builder
	file.WriteString("Username,MFA Status\n")
	want := map[string]mfa.State{}
	next := map[mfa.State]mfa.State{mfa.StateDisabled: mfa.StateEnabled, mfa.StateEnabled: mfa.StateEnforced, mfa.StateEnforced: mfa.StateDisabled}
	for u := range mfa.DemoUsers(n) {
		want[mfa.NormalizeUPN(u.UPN)] = next[u.State]
		fmt.Fprintf(&file, "%s,%s\n", u.UPN, next[u.State].Label())
	}
	resp, err := p.client.Post(p.base+"/api/v1/bulk", "text/csv", strings.NewReader(file.String()))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start: %v %v", err, resp.Status)
	}
	var started struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()

	// Kill it hard once some rows are done.
	deadline := time.Now().Add(60 * time.Second)
	for {
		j := p.job(t, started.ID)
		done := j["done"].(float64)
		if done > 0 && done < n {
			break
		}
		if done >= n || time.Now().After(deadline) {
			t.Fatalf("could not catch the job mid-way: %v", j)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()

	p = startProcess(t, bin, data, n)
	deadline = time.Now().Add(120 * time.Second)
	var j map[string]any
	for {
		j = p.job(t, started.ID)
		if j["finished"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job did not resume: %v", j)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if j["status"] != "done" || j["done"] != float64(n) || j["changed"] != float64(n) || j["failed"] != float64(0) {
		t.Fatalf("after the restart: %v", j)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()

	// Every user has the state the file asked for, and each change is recorded exactly once.
	db, err := sql.Open("sqlite", filepath.Join(data, "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var records, distinct int
	db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT target_key) FROM audit WHERE source = ? AND action LIKE 'state.%'", "bulk:"+started.ID).Scan(&records, &distinct)
	if records != n || distinct != n {
		t.Fatalf("%d audit records for %d users, want %d each", records, distinct, n)
	}
	rows, err := db.Query("SELECT upn_key, state FROM users")
	if err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for rows.Next() {
		var upn, state string
		rows.Scan(&upn, &state)
		if want[upn] != "" && want[upn] != mfa.State(state) {
			wrong++
		}
	}
	rows.Close()
	if wrong > 0 {
		t.Fatalf("%d users do not have the state the file asked for", wrong)
	}
	code, out, errs := runCLI(t, "", "audit", "verify", "--data", data)
	if code != 0 {
		t.Fatalf("audit verify: %d %s %s", code, out, errs)
	}
}
