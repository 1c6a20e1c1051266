package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func TestTokensCLI(t *testing.T) {
	data := t.TempDir()
	code, out, errs := runCLI(t, "", "tokens", "create", "--name", "nightly-export", "--role", "reader", "--data", data)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	secret := lines[len(lines)-1]
	if code != 0 || !strings.HasPrefix(secret, mfa.TokenPrefix) || strings.Contains(secret, " ") || !strings.Contains(out, "only this once") {
		t.Fatalf("create: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, "", "tokens", "create", "--name", "Nightly-Export", "--role", "reader", "--data", data); code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("duplicate: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "tokens", "create", "--name", "x", "--role", "owner", "--data", data); code != 1 || !strings.Contains(errs, "unknown role") {
		t.Fatalf("bad role: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "", "tokens", "create", "--role", "reader", "--data", data); code != 2 {
		t.Fatalf("no name: %d", code)
	}
	// The token works, and list shows its use but never the token.
	db, err := (&cli{getenv: func(string) string { return "" }}).openStore(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := newService(db).AuthenticateToken(context.Background(), secret); err != nil || tok.Role != mfa.RoleReader {
		t.Fatalf("the printed token: %+v %v", tok, err)
	}
	db.Close()
	code, out, _ = runCLI(t, "", "tokens", "list", "--data", data)
	if code != 0 || !strings.HasPrefix(out, "NAME") || !strings.Contains(out, "LAST USED") || !strings.Contains(out, "nightly-export") ||
		!strings.Contains(out, "reader") || strings.Contains(out, secret) || strings.Contains(out, "never") {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, out, _ := runCLI(t, "", "tokens", "revoke", "nightly-export", "--data", data); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, "", "tokens", "revoke", "nightly-export", "--data", data); code != 1 || !strings.Contains(errs, "no token") {
		t.Fatalf("revoke again: %d %q", code, errs)
	}
	if code, out, _ := runCLI(t, "", "audit", "export", "--data", data, "--action", "token.create"); code != 0 || !strings.Contains(out, "token:nightly-export") || strings.Contains(out, secret) {
		t.Fatalf("audit: %d %q", code, out)
	}
}

func TestOIDCSettings(t *testing.T) {
	ok := oidcSettings{Issuer: "https://login.microsoftonline.com/0f6a0c1e-0000-4000-8000-000000000000/v2.0", ClientID: "app", Scopes: "openid profile email",
		RoleClaim: "roles", RoleMap: "MFA.Admin=global-admin", LocalAccounts: true}
	w, err := ok.webConfig("https://mfa.contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if w.RedirectURL != "https://mfa.contoso.com/auth/callback" || strings.Join(w.Scopes, " ") != "openid profile email" || w.RoleClaim != "roles" ||
		w.RoleMap["MFA.Admin"] != mfa.RoleGlobalAdmin || w.RoleMap[mfa.EntraGlobalReader] != mfa.RoleReader {
		t.Fatalf("web config %+v", w)
	}
	if w, err := (&oidcSettings{LocalAccounts: true}).webConfig("http://x"); err != nil || w.Issuer != "" {
		t.Fatalf("off: %+v %v", w, err)
	}
	for change, msg := range map[string]func(o *oidcSettings){
		"https://":             func(o *oidcSettings) { o.Issuer = "http://login.example.com/x" },
		"--oidc-client-id":     func(o *oidcSettings) { o.ClientID = "" },
		"--oidc-role-map":      func(o *oidcSettings) { o.RoleMap = "admins=root" },
		"--oidc-redirect-url":  func(o *oidcSettings) { o.RedirectURL = "https://mfa.contoso.com/elsewhere" },
		"--oidc-role-claim":    func(o *oidcSettings) { o.RoleClaim = " " },
		"nobody could sign in": func(o *oidcSettings) { o.Issuer, o.LocalAccounts = "", false },
	} {
		o := ok
		msg(&o)
		if _, err := o.webConfig("https://mfa.contoso.com"); err == nil || !strings.Contains(err.Error(), change) {
			t.Errorf("%s: %v", change, err)
		}
	}
	o := ok
	o.Issuer = "http://127.0.0.1:5556/dex"
	if _, err := o.webConfig("http://127.0.0.1:8080"); err != nil {
		t.Errorf("loopback http issuer: %v", err)
	}
}

func TestOIDCFlagsFromEnvironment(t *testing.T) {
	var cfg config
	fs := newFlagSet("serve", &bytes.Buffer{})
	serveFlags(fs, &cfg)
	env := map[string]string{"MFAPORTAL_OIDC_ISSUER": "https://idp.example/", "MFAPORTAL_OIDC_CLIENT_ID": "cid", "MFAPORTAL_OIDC_REDIRECT_URL": "https://mfa.example/auth/callback",
		"MFAPORTAL_OIDC_SCOPES": "openid email", "MFAPORTAL_OIDC_ROLE_CLAIM": "groups", "MFAPORTAL_OIDC_ROLE_MAP": "g1=reader", "MFAPORTAL_LOCAL_ACCOUNTS": "false"}
	if _, err := parseFlags(fs, nil, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	o := cfg.OIDC
	if o.Issuer != "https://idp.example/" || o.ClientID != "cid" || o.RedirectURL != "https://mfa.example/auth/callback" || o.Scopes != "openid email" ||
		o.RoleClaim != "groups" || o.RoleMap != "g1=reader" || o.LocalAccounts {
		t.Fatalf("%+v", o)
	}
	// The client secret is never a flag.
	if fs.Lookup("oidc-client-secret") != nil {
		t.Fatal("the client secret is a flag (it would show in ps)")
	}
}

// Serving with an identity provider that cannot be reached starts anyway, and says so in the log;
// serving with nothing to sign in with does not start.
func TestServeWithUnreachableProvider(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := map[string]string{"MFAPORTAL_OIDC_ISSUER": "http://127.0.0.1:1/oidc", "MFAPORTAL_OIDC_CLIENT_ID": "cid",
		"MFAPORTAL_OIDC_CLIENT_SECRET": "s3cret-value", "MFAPORTAL_LOCAL_ACCOUNTS": "false", "MFAPORTAL_DEMO": "false"}
	var out, errb lockedBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", data}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "is running") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	code := <-done
	if code != 0 || !strings.Contains(errb.String(), "cannot be reached") || strings.Contains(errb.String()+out.String(), "s3cret-value") {
		t.Fatalf("serve: %d\n%s\n%s", code, out.String(), errb.String())
	}
	if strings.Contains(out.String(), "Created the local account") {
		t.Fatal("an admin account was made although local accounts are off")
	}
	if code, _, errs := runCLI(t, "", "serve", "--local-accounts=false", "--data", data); code != 2 || !strings.Contains(errs, "nobody could sign in") {
		t.Fatalf("no sign-in method: %d %q", code, errs)
	}
}

// lockedBuffer is a buffer that a running server may write to while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
