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
	rng   *mrand.Rand // draws the faults
	order *mrand.Rand // the order parallel $batch steps run in

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
	s.order = mrand.New(mrand.NewPCG(uint64(opts.Faults.Seed), 0x62617463))
	s.dir.init(!opts.SystemPreferredMFAOff)
	s.dir.seed(opts.Users)
	s.dir.seedConditionalAccess(opts.NoPremiumLicense)
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
