package web

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
)

// TrustedProxies are the reverse proxies (MFAPORTAL_TRUSTED_PROXIES) whose forwarding headers
// are believed. From any other peer, X-Forwarded-For and Forwarded are ignored.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads a comma- or space-separated list of CIDRs ("10.0.0.0/8, ::1"); a
// bare address is a range of one.
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	var out TrustedProxies
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q is neither an address nor a CIDR range such as 10.0.0.0/8", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (tp TrustedProxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range tp {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr is the address of the client that sent r (SPEC §9). From a trusted proxy it is the
// rightmost address of X-Forwarded-For (or, when the proxy sends no X-Forwarded-For, of
// Forwarded's for= values) that is not itself a trusted proxy: entries to its left were written
// by the client and prove nothing. X-Forwarded-For wins when both come, since the common proxies
// (nginx, Caddy, HAProxy, Traefik) set it and may pass a client's Forwarded through unchanged.
func (tp TrustedProxies) ClientAddr(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return peerHost(r.RemoteAddr)
	}
	client := peer.Addr().Unmap()
	if len(tp) == 0 || !tp.trusts(client) {
		return client.String()
	}
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break // a trusted proxy wrote something that is not an address: stop at the last one known
		}
		client = a
		if !tp.trusts(a) {
			break
		}
	}
	return client.String()
}

// forwardedFor lists the hops the proxies recorded, oldest first: X-Forwarded-For's entries (all
// its header lines), or else Forwarded's for= values (RFC 7239).
func forwardedFor(h http.Header) []string {
	var hops []string
	if xff := h.Values("X-Forwarded-For"); len(xff) > 0 {
		for _, line := range xff {
			for _, e := range strings.Split(line, ",") {
				hops = append(hops, strings.TrimSpace(e))
			}
		}
		return hops
	}
	for _, line := range h.Values("Forwarded") {
		for _, elem := range strings.Split(line, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
				if strings.EqualFold(k, "for") {
					hops = append(hops, strings.Trim(v, `"`))
				}
			}
		}
	}
	return hops
}

// parseHop reads one hop: "192.0.2.1", "192.0.2.1:4711", "[2001:db8::1]:4711" or "2001:db8::1".
func parseHop(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// peerHost is the host of a RemoteAddr that is not ip:port (a test's or a unix socket's).
func peerHost(remote string) string {
	if i := strings.LastIndexByte(remote, ':'); i >= 0 && !strings.Contains(remote[i:], "]") {
		remote = remote[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(remote, "["), "]")
}

// clientAddr computes the client's address once per request and keeps it in the context, where
// throttling, the audit log (mfa.Actor.IP) and the request log read it.
func clientAddr(tp TrustedProxies) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(mfa.NewContextWithClientAddr(r.Context(), tp.ClientAddr(r))))
		})
	}
}

// clientIP is the request's client address, as clientAddr computed it.
func clientIP(r *http.Request) string {
	if a := mfa.ClientAddrFromContext(r.Context()); a != "" {
		return a
	}
	return peerHost(r.RemoteAddr)
}

// publicOrigin is the origin (scheme://host[:port]) of the public URL, "" if it has none.
func publicOrigin(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}
