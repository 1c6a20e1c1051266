package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

func TestClientAddr(t *testing.T) {
	tp, err := ParseTrustedProxies("10.0.0.0/8, 192.168.1.5 ::1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer string
		header     http.Header
		want       string
	}{
		{"direct", "203.0.113.7:5000", nil, "203.0.113.7"},
		{"untrusted peer's headers are ignored", "203.0.113.7:5000", http.Header{"X-Forwarded-For": {"198.51.100.1"}}, "203.0.113.7"},
		{"one proxy", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"client-written entries to the left", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"1.2.3.4, 198.51.100.1"}}, "198.51.100.1"},
		{"two proxies", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"1.2.3.4, 198.51.100.1, 192.168.1.5"}}, "198.51.100.1"},
		{"several header lines", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"1.2.3.4", "198.51.100.1, 10.9.9.9"}}, "198.51.100.1"},
		{"only proxies", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"10.1.1.1, 10.2.2.2"}}, "10.1.1.1"},
		{"garbage from the proxy", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"198.51.100.1, unknown"}}, "10.0.0.2"},
		{"IPv6 peer", "[::1]:5000", http.Header{"X-Forwarded-For": {"2001:db8::7"}}, "2001:db8::7"},
		{"IPv4-mapped", "[::ffff:10.0.0.2]:5000", http.Header{"X-Forwarded-For": {"::ffff:198.51.100.1"}}, "198.51.100.1"},
		{"Forwarded", "10.0.0.2:5000", http.Header{"Forwarded": {`for=1.2.3.4, for="[2001:db8::9]:4711";proto=https`}}, "2001:db8::9"},
		{"Forwarded with port", "10.0.0.2:5000", http.Header{"Forwarded": {"for=198.51.100.3:443;by=10.0.0.2"}}, "198.51.100.3"},
		{"X-Forwarded-For wins over Forwarded", "10.0.0.2:5000",
			http.Header{"Forwarded": {"for=6.6.6.6"}, "X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"no header from a proxy", "10.0.0.2:5000", nil, "10.0.0.2"},
	}
	for _, tt := range tests {
		r := &http.Request{RemoteAddr: tt.peer, Header: tt.header}
		if got := tp.ClientAddr(r); got != tt.want {
			t.Errorf("%s: ClientAddr = %q, want %q", tt.name, got, tt.want)
		}
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8, proxy.local"); err == nil {
		t.Error("a host name was accepted as a trusted proxy")
	}
	if got := (TrustedProxies(nil)).ClientAddr(&http.Request{RemoteAddr: "198.51.100.1:1", Header: http.Header{"X-Forwarded-For": {"1.1.1.1"}}}); got != "198.51.100.1" {
		t.Errorf("without trusted proxies: %q", got)
	}
}

// from makes a client whose requests come through the test's reverse proxy (127.0.0.1) on behalf
// of addr.
func (e *testEnv) from(addr string) *http.Client {
	c := e.client()
	c.Transport = forwardingTransport{addr}
	return c
}

type forwardingTransport struct{ addr string }

func (f forwardingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", "6.6.6.6, "+f.addr) // the left entry is the client's lie
	return http.DefaultTransport.RoundTrip(r)
}

func behindProxy(cfg *Config, _ string) {
	cfg.TrustedProxies, _ = ParseTrustedProxies("127.0.0.1/32, ::1")
}

// Behind a trusted proxy the client's address is the forwarded one, in throttling, the audit log
// and the request log; a stranger's failures do not lock the admin out.
func TestBehindAReverseProxy(t *testing.T) {
	e := newTestEnvWith(t, behindProxy)
	stranger := e.from("198.51.100.66")
	for range 12 {
		e.signIn(stranger, "global-admin", "wrong password!", "")
	}
	if resp := e.signIn(stranger, "global-admin", testPassword, ""); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("the stranger's address: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	admin := e.from("203.0.113.5")
	if resp := e.signIn(admin, "global-admin", testPassword, ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the admin from another address after a stranger's failures: %d", resp.StatusCode)
	}
	if resp, _ := e.postForm(admin, "/tokens", url.Values{"name": {"proxy-test"}, "role": {"reader"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("create token: %d", resp.StatusCode)
	}
	page, err := e.app.svc.FindAudit(context.Background(), mfa.CLIActor, mfa.AuditFilter{Action: mfa.AuditTokenCreate})
	if err != nil || len(page.Records) != 1 || page.Records[0].ClientIP != "203.0.113.5" {
		t.Fatalf("audit record's client address: %+v %v", page.Records, err)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "remote=203.0.113.5") || !strings.Contains(logs, "remote=198.51.100.66") || strings.Contains(logs, "6.6.6.6") {
		t.Fatal("the request log does not name the forwarded addresses, or names the client's lie")
	}
}

// Without trusted proxies, forwarding headers are ignored: a client cannot dodge the throttle by
// claiming another address.
func TestForwardedHeadersIgnoredFromUntrustedPeers(t *testing.T) {
	e := newTestEnv(t)
	for i := range 10 {
		e.signIn(e.from("198.51.100."+strconv.Itoa(i+1)), "reader", "wrong password!", "")
	}
	if resp := e.signIn(e.from("203.0.113.99"), "reader", testPassword, ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a claimed address dodged the throttle: %d", resp.StatusCode)
	}
}

// The CSRF check compares a request's Origin with the public URL: behind a proxy that rewrites
// Host, the portal's own forms still work, and other origins are still refused.
func TestCrossOriginCheckUsesThePublicURL(t *testing.T) {
	e := newTestEnvWith(t, func(cfg *Config, _ string) { cfg.PublicURL = "https://mfa.example.com" })
	post := func(origin string) int {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/signin", strings.NewReader("username=reader&password="+url.QueryEscape(testPassword)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		resp, err := e.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post("https://mfa.example.com"); got != http.StatusSeeOther {
		t.Errorf("a POST from the public URL's origin: %d", got)
	}
	for _, evil := range []string{"https://evil.example", "http://mfa.example.com", "https://mfa.example.com.evil.example"} {
		if got := post(evil); got != http.StatusForbidden {
			t.Errorf("a POST from %s: %d", evil, got)
		}
	}
}
