// Package graphemu is a local Microsoft Graph wire-format server ("graph emulator") for tests,
// benchmarks and `mfaportal graph-emulator`. It is never part of the product path: the portal only
// talks to it when pointed at it.
//
// It speaks Graph's wire format for the endpoints the portal uses (SPEC §4), closely enough for the
// real msgraph-sdk-go client and azidentity client credentials to work against it:
//
//	POST /{tenant}/oauth2/v2.0/token                          client credentials (secret or assertion)
//	GET  /{tenant}/v2.0/.well-known/openid-configuration     OpenID discovery (token_endpoint on this server)
//	GET  /common/discovery/instance                          AAD instance discovery
//	GET  /{v}/users                                          $select, $top (1..999, default 100), $filter on
//	                                                         accountEnabled, $count; @odata.nextLink paging
//	GET  /{v}/users/{id | userPrincipalName}
//	POST /{v}/users/{id}/revokeSignInSessions
//	GET|PATCH /beta/users/{id}/authentication/requirements   perUserMfaState (enabled→enforced rule)
//	GET|PATCH /beta/users/{id}/authentication/signInPreferences  the default method
//	GET  /{v}/users/{id}/authentication/methods[/{id}]
//	GET|DELETE /{v}/users/{id}/authentication/{phone|microsoftAuthenticator|softwareOath|hardwareOath|
//	                                          fido2|email|password}Methods/{id}
//	GET|PATCH /{v}/policies/authenticationMethodsPolicy[/authenticationMethodConfigurations[/{id}]]
//	GET  /{v}/directoryRoles                                 the activated directory roles (Global
//	                                                         Administrator always; members seeded from
//	                                                         mfa.DemoUsers' Privileged)
//	GET  /{v}/directoryRoles/{id | roleTemplateId=…}[/members]  members: users (#microsoft.graph.user),
//	                                                         $select, $top (1..999, default 100),
//	                                                         @odata.nextLink paging
//	POST /{v}/$batch                                         up to 20 steps, dependsOn, per-item status
//
// where {v} is v1.0 or beta. Every Graph call needs a bearer token issued by the token endpoint.
//
// # Quotas
//
// Reads and writes are metered per application+tenant pair with token buckets, as Microsoft documents
// for the identity and access service (tenants over 500 users): 8,000 resource units per 10 s and
// 3,000 writes per 150 s. Request costs follow the documented base costs:
//
//	GET /users (list)                        2 units (−1 with $select, −1 with $top < 20; never below 1)
//	any other GET                            1 unit
//	POST, PATCH, DELETE                      1 unit and 1 write
//
// Each $batch step is metered on its own (the $batch POST itself costs nothing); a step over quota gets
// status 429 inside the batch while the others succeed. A throttled answer carries Retry-After in whole
// seconds (rounded up, at least 1, as Graph sends it) and x-ms-retry-after-ms with the exact wait in
// milliseconds: with Quotas.TimeScale below 1 the windows shrink and only the millisecond header is
// exact. Regular answers carry x-ms-resource-unit, and x-ms-throttle-limit-percentage once 80 % of a
// quota is used.
//
// # Pointing the real clients at it
//
// azidentity and MSAL require https for the authority, so start the emulator with StartTLS and give
// both the SDK and azidentity Server.Client()'s transport (or trust CertificatePEM through
// SSL_CERT_FILE in another process). For azidentity set
// ClientOptions.Cloud.ActiveDirectoryAuthorityHost to baseURL+"/" and DisableInstanceDiscovery: MSAL
// otherwise asks login.microsoftonline.com to validate an unknown authority host. The Graph base URL
// is baseURL+"/v1.0" (beta: baseURL+"/beta"); kiota's allowed hosts compare the host name without
// the port ("127.0.0.1"), and a request to a host not allowed is sent without a token (401).
//
// # Deviations worth knowing
//
// Steps of a $batch run one after the other in the order given (Graph may run independent steps in
// any order); their responses come back in request order. Step URLs must be relative to the batch's
// version ("/users/…" or "users?…"); absolute URLs are refused with 400. Deleting a user's default
// method while other methods that could be default remain is refused with 400, as Graph does, and so
// is deleting the mobile phone while an alternate mobile phone remains: change the default first
// (PATCH signInPreferences) or delete it last. The email method does not count as an MFA method for
// the enabled→enforced rule. Tokens are HMAC-signed by the emulator and are not
// real Entra tokens; client assertions are checked only for their certificate thumbprint, not their
// signature.
package graphemu

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Server. The zero value is a usable emulator with no users, the documented
// quotas, no latency and no faults, accepting any tenant and client credentials.
type Options struct {
	// Users is the number of demo users seeded from mfa.DemoUsers (deterministic ids and data).
	Users int
	// Latency is added before answering every request (token endpoint included); a request whose
	// context ends meanwhile gets no answer.
	Latency time.Duration
	// Quotas configures throttling; see Quotas.
	Quotas Quotas
	// Faults configures injected failures; see Faults. They can be changed later with SetFaults.
	Faults Faults
	// Credentials, when any field is set, restricts which client credentials get a token.
	Credentials Credentials
	// Roles lists the application permissions (app roles) the tenant granted, e.g. "User.Read.All".
	// Nil grants every permission the emulated endpoints need; a call without one of its permissions
	// gets 403 Authorization_RequestDenied. Can be changed later with SetRoles.
	Roles []string
	// TokenLifetime is how long issued tokens live; zero means 3599 s as Entra issues them.
	TokenLifetime time.Duration
	// BaseURL, when set, is used for @odata.nextLink, @odata.context and discovery documents instead of
	// the scheme and host the request came in on.
	BaseURL string
	// Now is the clock for quotas, token expiry and timestamps; nil means time.Now.
	Now func() time.Time
	// Log, when set, receives one debug line per request and errors from the listener.
	Log *slog.Logger
	// TLSCertificate, when set, is served by StartTLS instead of a fresh self-signed certificate
	// (so a long-running emulator can keep one that clients were told to trust).
	TLSCertificate *tls.Certificate
}

// Quotas configures the emulated identity-service throttling. Zero fields take the documented
// defaults.
type Quotas struct {
	// Disabled turns throttling off: nothing is ever answered 429 for being over quota.
	Disabled bool
	// ReadUnitsPer10s is the resource-unit quota per application+tenant per 10 s (default 8,000).
	ReadUnitsPer10s int
	// WritesPer150s is the write quota per application+tenant per 150 s (default 3,000).
	WritesPer150s int
	// TimeScale multiplies the windows: 1 is real time, 0.01 makes them 100 times shorter (10 s
	// becomes 100 ms) for tests. Zero means 1.
	TimeScale float64
}

// Faults configures randomly injected failures. Rates are probabilities in [0, 1] drawn from a
// generator seeded with Seed, so a run is reproducible when requests arrive in the same order. Each
// top-level Graph request (a $batch included) and each $batch step is drawn for separately. The
// token and discovery endpoints never get faults.
type Faults struct {
	// Rate429 answers 429 TooManyRequests with Retry-After, as if throttled.
	Rate429 float64
	// Rate5xx answers one of Codes5xx with a Graph error (503 carries Retry-After).
	Rate5xx float64
	// Codes5xx are the statuses Rate5xx picks from; empty means 500, 502, 503 and 504.
	Codes5xx []int
	// RateDrop closes the connection without an answer (top-level requests only).
	RateDrop float64
	// RateTruncate cuts a successful JSON answer in half (top-level requests only).
	RateTruncate float64
	// RetryAfter is the wait announced on injected 429 and 503 answers; zero means 1 s, scaled by
	// Quotas.TimeScale.
	RetryAfter time.Duration
	// Seed seeds the generator.
	Seed uint64
	// Match, when set, limits faults to the calls it returns true for; path is relative to the version,
	// e.g. "/users/{id}/authentication/requirements" or "/$batch".
	Match func(method, path string) bool
}

// Credentials restricts the token endpoint. Empty fields accept anything.
type Credentials struct {
	// TenantID is the only tenant (path segment) that gets tokens; others get AADSTS90002.
	TenantID string
	// ClientID is the only application that gets tokens; others get AADSTS700016.
	ClientID string
	// ClientSecret must match a client_secret; a wrong one gets 401 AADSTS7000215.
	ClientSecret string
	// CertificateThumbprint (hex SHA-1 or SHA-256 of the DER certificate) must match the x5t or
	// x5t#S256 header of a client_assertion; the assertion's signature is not checked.
	CertificateThumbprint string
}

// Server is an emulated Microsoft Graph tenant. It is safe for concurrent use.
type Server struct {
	now      func() time.Time
	latency  atomic.Int64 // time.Duration
	lifetime time.Duration
	baseURL  string
	creds    Credentials
	log      *slog.Logger
	key      []byte // HMAC key for tokens

	cfgMu  sync.RWMutex
	faults Faults
	roles  map[string]bool // nil: all granted

	rngMu sync.Mutex
	rng   *mrand.Rand

	dir    directory
	quotas quotaSet
	stats  counters

	tlsMu   sync.Mutex
	tlsCert *tls.Certificate
	tlsPEM  []byte
	client  *http.Client
}

// New builds a Server seeded with opts.Users demo users.
func New(opts Options) *Server {
	s := &Server{
		now:      opts.Now,
		lifetime: opts.TokenLifetime,
		baseURL:  strings.TrimRight(opts.BaseURL, "/"),
		creds:    opts.Credentials,
		log:      opts.Log,
		key:      make([]byte, 32),
		tlsCert:  opts.TLSCertificate,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.lifetime <= 0 {
		s.lifetime = 3599 * time.Second
	}
	if _, err := rand.Read(s.key); err != nil {
		panic("graphemu: no randomness for the token key: " + err.Error())
	}
	s.latency.Store(int64(opts.Latency))
	s.SetFaults(opts.Faults)
	s.SetRoles(opts.Roles)
	s.quotas.init(opts.Quotas)
	s.dir.init()
	s.dir.seed(opts.Users)
	return s
}

// SetFaults replaces the fault configuration and reseeds the generator.
func (s *Server) SetFaults(f Faults) {
	s.cfgMu.Lock()
	s.faults = f
	s.cfgMu.Unlock()
	s.rngMu.Lock()
	s.rng = mrand.New(mrand.NewPCG(f.Seed, 0x6d666170))
	s.rngMu.Unlock()
}

// SetLatency changes the latency added before every answer.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// SetRoles replaces the granted application permissions; nil grants all (see Options.Roles). It
// applies to tokens already issued.
func (s *Server) SetRoles(roles []string) {
	var m map[string]bool
	if roles != nil {
		m = make(map[string]bool, len(roles))
		for _, r := range roles {
			m[strings.ToLower(r)] = true
		}
	}
	s.cfgMu.Lock()
	s.roles = m
	s.cfgMu.Unlock()
}

// Start serves plain HTTP on addr ("127.0.0.1:0" when empty) and returns the base URL (no trailing
// slash; the Graph root is baseURL+"/v1.0") and a function that stops the listener. azidentity and
// MSAL insist on https for the authority: use StartTLS for them.
func (s *Server) Start(addr string) (baseURL string, stop func(), err error) {
	return s.start(addr, false)
}

// StartTLS is Start over HTTPS with a self-signed certificate made for the listening address,
// 127.0.0.1, ::1 and localhost. Client returns an *http.Client that trusts it and CertificatePEM the
// certificate (for SSL_CERT_FILE when another process must trust it).
func (s *Server) StartTLS(addr string) (baseURL string, stop func(), err error) {
	return s.start(addr, true)
}

func (s *Server) start(addr string, useTLS bool) (string, func(), error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if ip != nil {
			host = "127.0.0.1"
		}
	}
	scheme := "http"
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	if s.log != nil {
		srv.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	}
	if useTLS {
		cfg, err := s.tlsConfig(host)
		if err != nil {
			ln.Close()
			return "", nil, err
		}
		srv.TLSConfig = cfg
		scheme = "https"
	}
	go func() {
		var err error
		if useTLS {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) && s.log != nil {
			s.log.Error("graph emulator stopped", "err", err)
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if srv.Shutdown(ctx) != nil {
				srv.Close()
			}
		})
	}
	return scheme + "://" + net.JoinHostPort(host, port), stop, nil
}

// Stats is a snapshot of what the server has seen and done since it started.
type Stats struct {
	Requests        int64 // HTTP requests received, any path
	GraphCalls      int64 // Graph operations answered: top-level calls plus $batch steps
	BatchRequests   int64 // $batch POSTs accepted for processing
	BatchSteps      int64 // steps inside those batches
	TokensIssued    int64
	TokensRefused   int64 // token requests answered with an error
	Unauthorized    int64 // Graph calls refused 401
	Forbidden       int64 // Graph calls refused 403 for a missing permission
	Throttled       int64 // 429 answers for being over quota (top-level or in a batch)
	Injected429     int64
	Injected5xx     int64
	Dropped         int64 // connections closed without an answer
	Truncated       int64 // answers cut short
	GzipBodies      int64 // request bodies that came gzip-compressed
	ReadUnits       int64 // resource units charged
	Writes          int64 // writes charged against the write quota
	WritesApplied   int64 // write calls that succeeded (2xx)
	StateChanges    int64 // per-user MFA states actually changed by PATCH
	MethodsDeleted  int64
	SessionsRevoked int64
	InFlight        int64 // top-level requests being served now
	MaxInFlight     int64 // the most served at once
}

type counters struct {
	requests, graphCalls, batchRequests, batchSteps, tokensIssued, tokensRefused              atomic.Int64
	unauthorized, forbidden, throttled, injected429, injected5xx, dropped, truncated, gzipped atomic.Int64
	readUnits, writes, writesApplied, stateChanges, methodsDeleted, sessionsRevoked, inFlight atomic.Int64
	maxInFlight                                                                               atomic.Int64
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Requests: c.requests.Load(), GraphCalls: c.graphCalls.Load(), BatchRequests: c.batchRequests.Load(),
		BatchSteps: c.batchSteps.Load(), TokensIssued: c.tokensIssued.Load(), TokensRefused: c.tokensRefused.Load(),
		Unauthorized: c.unauthorized.Load(), Forbidden: c.forbidden.Load(), Throttled: c.throttled.Load(),
		Injected429: c.injected429.Load(), Injected5xx: c.injected5xx.Load(), Dropped: c.dropped.Load(),
		Truncated: c.truncated.Load(), GzipBodies: c.gzipped.Load(), ReadUnits: c.readUnits.Load(), Writes: c.writes.Load(),
		WritesApplied: c.writesApplied.Load(), StateChanges: c.stateChanges.Load(),
		MethodsDeleted: c.methodsDeleted.Load(), SessionsRevoked: c.sessionsRevoked.Load(),
		InFlight: c.inFlight.Load(), MaxInFlight: c.maxInFlight.Load(),
	}
}

// ServeHTTP answers token, discovery and Graph requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.stats.requests.Add(1)
	n := s.stats.inFlight.Add(1)
	defer s.stats.inFlight.Add(-1)
	for {
		m := s.stats.maxInFlight.Load()
		if n <= m || s.stats.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		if s.log != nil {
			s.log.Debug("graph emulator", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"duration", time.Since(start))
		}
	}()
	if d := time.Duration(s.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/v1.0/") || strings.HasPrefix(path, "/beta/"):
		s.serveGraph(rec, r)
	case path == "/common/discovery/instance":
		s.serveInstanceDiscovery(rec, r)
	case strings.HasSuffix(path, "/.well-known/openid-configuration"):
		s.serveOpenIDConfiguration(rec, r)
	case strings.HasSuffix(path, "/oauth2/v2.0/token") || strings.HasSuffix(path, "/oauth2/token"):
		s.serveToken(rec, r)
	default:
		c := &call{reqID: newGUID(), clientReqID: r.Header.Get("client-request-id"), now: s.now()}
		s.writeResult(rec, c, s.graphError(c, http.StatusNotFound, "BadRequest",
			"Invalid version: expected /v1.0/ or /beta/ (or a token endpoint)."), false)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// base is the scheme and host clients should use for links in answers to r.
func (s *Server) base(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// newGUID returns a random GUID-shaped string.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return formatGUID(b[:])
}

func formatGUID(b []byte) string {
	var h [36]byte
	hex.Encode(h[0:8], b[0:4])
	h[8] = '-'
	hex.Encode(h[9:13], b[4:6])
	h[13] = '-'
	hex.Encode(h[14:18], b[6:8])
	h[18] = '-'
	hex.Encode(h[19:23], b[8:10])
	h[23] = '-'
	hex.Encode(h[24:36], b[10:16])
	return string(h[:])
}

// ErrNotFound is returned by the state accessors for an unknown user or method.
var ErrNotFound = errors.New("graphemu: not found")
