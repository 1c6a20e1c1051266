package graph

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Cloud is a Microsoft national cloud: where Graph and the sign-in service are.
type Cloud struct {
	Name     string
	GraphURL string // Graph's root, without the version
	LoginURL string // the authority host

}

// Clouds are the national clouds MFAPORTAL_GRAPH_CLOUD names.
var Clouds = map[string]Cloud{
	"global": {Name: "global", GraphURL: "https://graph.microsoft.com", LoginURL: "https://login.microsoftonline.com/"},
	"usgov":  {Name: "usgov", GraphURL: "https://graph.microsoft.us", LoginURL: "https://login.microsoftonline.us/"},
	"china":  {Name: "china", GraphURL: "https://microsoftgraph.chinacloudapi.cn", LoginURL: "https://login.chinacloudapi.cn/"},
}

// Quota is a documented Microsoft Graph throttling quota: Units per Window.
type Quota struct {
	Units  int
	Window time.Duration
}

// The documented identity-service quotas per application and tenant (concepts/throttling-limits.md,
// "Identity and access service limits"): resource units by the tenant's size, writes the same for all.
var (
	DefaultReadQuota  = Quota{Units: 8000, Window: 10 * time.Second} // tenants over 500 users
	DefaultWriteQuota = Quota{Units: 3000, Window: 150 * time.Second}
)

// ReadQuotaFor is the resource-unit quota per application and tenant for a tenant of n users: 3,500
// per 10 s under 50 users, 5,000 from 50 to 500, 8,000 above.
func ReadQuotaFor(n int) Quota {
	switch {
	case n < 50:
		return Quota{Units: 3500, Window: 10 * time.Second}
	case n <= 500:
		return Quota{Units: 5000, Window: 10 * time.Second}
	}
	return DefaultReadQuota
}

// Config configures the Graph directory. TenantID, ClientID and a secret or certificate are
// required; everything else has a default.
type Config struct {
	TenantID     string
	ClientID     string
	ClientSecret string
	// CertificateFile is a PEM (or PKCS#12 without password) file holding the application's
	// certificate and private key, used when ClientSecret is empty.
	CertificateFile string
	// Cloud is "global" (default), "usgov" or "china".
	Cloud string
	// BaseURL overrides Graph's root (e.g. https://127.0.0.1:8443 for graph-emulator); a trailing
	// /v1.0 or /beta is ignored.
	BaseURL string
	// AuthorityURL overrides the sign-in service's host (e.g. the emulator's base URL).
	AuthorityURL string
	// CAFile adds the certificates of a PEM file to the system's trusted roots (for the emulator).
	CAFile string
	// HTTPClient, when set, carries every request (token and Graph); its transport is used under
	// the SDK's middleware. Tests give the emulator's Client().
	HTTPClient *http.Client
	// SyncInterval is how often the full sync runs (default 30 minutes; negative: only on demand).
	SyncInterval time.Duration
	// Concurrency bounds the $batch requests in flight at once (default 32: with Graph's latency
	// of a $batch of 20, fewer would not reach the read quota).
	Concurrency int
	// ReadQuota and WriteQuota are the quotas requests are paced under (default: the documented
	// ones; the read quota by the tenant's size, ReadQuotaFor, learnt from the index and each sync's
	// user count, the smallest until then). Pace is the fraction of them to aim at (default 0.97).
	ReadQuota, WriteQuota Quota
	Pace                  float64
	// readBySize is set when ReadQuota follows the tenant's size.
	readBySize bool
	// MaxAttempts is how often a request that fails for a passing reason (throttled, 5xx, network,
	// malformed answer) is tried before it is reported failed (default 8).
	MaxAttempts int
	// RetryBase is the first back-off after a 5xx or network error, doubled each time up to 16 times
	// it (default 500 ms).
	RetryBase time.Duration
	// MaxRetryWait bounds any wait before trying again, however long a Retry-After Graph announces
	// (default 5 minutes: twice the longest quota window a Retry-After should cover).
	MaxRetryWait time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) setDefaults() error {
	if c.TenantID == "" || c.ClientID == "" {
		return errors.New("the Graph directory needs MFAPORTAL_GRAPH_TENANT_ID and MFAPORTAL_GRAPH_CLIENT_ID")
	}
	if c.ClientSecret == "" && c.CertificateFile == "" {
		return errors.New("the Graph directory needs MFAPORTAL_GRAPH_CLIENT_SECRET or MFAPORTAL_GRAPH_CERTIFICATE (a PEM file with the certificate and its key)")
	}
	if c.Cloud == "" {
		c.Cloud = "global"
	}
	if _, ok := Clouds[strings.ToLower(c.Cloud)]; !ok {
		return fmt.Errorf("MFAPORTAL_GRAPH_CLOUD %q: expected global, usgov or china", c.Cloud)
	}
	c.Cloud = strings.ToLower(c.Cloud)
	for name, v := range map[string]*string{"MFAPORTAL_GRAPH_BASE_URL": &c.BaseURL, "MFAPORTAL_GRAPH_AUTHORITY_URL": &c.AuthorityURL} {
		if *v == "" {
			continue
		}
		u, err := url.Parse(*v)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("%s %q: expected an https:// URL", name, *v)
		}
		*v = strings.TrimRight(*v, "/")
	}
	c.BaseURL = strings.TrimSuffix(strings.TrimSuffix(c.BaseURL, "/v1.0"), "/beta")
	if c.SyncInterval == 0 {
		c.SyncInterval = 30 * time.Minute
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 32
	}
	if c.ReadQuota.Units <= 0 || c.ReadQuota.Window <= 0 {
		c.ReadQuota, c.readBySize = ReadQuotaFor(0), true
	}
	if c.WriteQuota.Units <= 0 || c.WriteQuota.Window <= 0 {
		c.WriteQuota = DefaultWriteQuota
	}
	if c.Pace <= 0 || c.Pace > 1 {
		c.Pace = 0.97
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 500 * time.Millisecond
	}
	if c.MaxRetryWait <= 0 {
		c.MaxRetryWait = 5 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// graphRoot is where Graph is: the override or the cloud's.
func (c *Config) graphRoot() string {
	if c.BaseURL != "" {
		return c.BaseURL
	}
	return Clouds[c.Cloud].GraphURL
}

// authority is the sign-in service's host URL, with a trailing slash as azidentity wants it.
func (c *Config) authority() string {
	if c.AuthorityURL != "" {
		return c.AuthorityURL + "/"
	}
	return Clouds[c.Cloud].LoginURL
}

// scope is the token scope: Graph's audience in the cloud (the emulator accepts any).
func (c *Config) scope() string { return Clouds[c.Cloud].GraphURL + "/.default" }

// transport is the base HTTP transport: the given client's, or one that trusts CAFile too.
func (c *Config) transport() (http.RoundTripper, error) {
	if c.HTTPClient != nil && c.HTTPClient.Transport != nil {
		return c.HTTPClient.Transport, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = c.Concurrency * 2
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("MFAPORTAL_GRAPH_CA_FILE: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("MFAPORTAL_GRAPH_CA_FILE %s: no PEM certificate in it", c.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return tr, nil
}
