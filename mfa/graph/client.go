package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/mfaportal/mfaportal/mfa"
)

// client is the connection to Graph: a credential, one SDK request adapter per API version (a
// beta request in a batch built on the v1.0 adapter would get an absolute URL), the pacer, and the
// bound on requests in flight.
type client struct {
	cfg   Config
	cred  azcore.TokenCredential
	v1    *core.GraphRequestAdapterBase
	beta  *core.GraphRequestAdapterBase
	pace  *pacer
	slots chan struct{}
}

// errorMapping turns Graph's error answers into *odataerrors.ODataError, with Graph's message.
var errorMapping = abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

func newClient(cfg Config) (*client, error) {
	base, err := cfg.transport()
	if err != nil {
		return nil, err
	}
	httpc := &http.Client{Transport: base}
	copts := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: cfg.authority()},
		Transport: httpc,
		Retry:     policy.RetryOptions{MaxRetries: 2},
	}
	// Instance discovery asks login.microsoftonline.com about the authority: not for an override.
	noDiscovery := cfg.AuthorityURL != ""
	var cred azcore.TokenCredential
	if cfg.ClientSecret != "" {
		cred, err = azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: noDiscovery})
	} else {
		var data []byte
		if data, err = os.ReadFile(cfg.CertificateFile); err != nil {
			return nil, fmt.Errorf("MFAPORTAL_GRAPH_CERTIFICATE: %w", err)
		}
		certs, key, perr := azidentity.ParseCertificates(data, nil)
		if perr != nil {
			return nil, fmt.Errorf("MFAPORTAL_GRAPH_CERTIFICATE %s: %v", cfg.CertificateFile, perr)
		}
		cred, err = azidentity.NewClientCertificateCredential(cfg.TenantID, cfg.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: noDiscovery})
	}
	if err != nil {
		return nil, fmt.Errorf("Graph credentials: %w", err)
	}
	root, err := url.Parse(cfg.graphRoot())
	if err != nil {
		return nil, err
	}
	// kiota sends the token only to these hosts, compared without the port.
	auth, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{cfg.scope()}, []string{root.Hostname()})
	if err != nil {
		return nil, err
	}
	// The SDK's middleware (telemetry, compression, redirects...) except its retry handler: this
	// package retries itself, at the level where it also sees 429s inside a $batch, paces every
	// caller after a 429, reads the exact x-ms-retry-after-ms, and retries 500, 502 and network
	// errors, which the SDK's handler does not.
	opts := core.GraphClientOptions{GraphServiceVersion: "", GraphServiceLibraryVersion: "mfaportal"}
	var mws []khttp.Middleware
	for _, m := range core.GetDefaultMiddlewaresWithOptions(&opts) {
		if _, retry := m.(*khttp.RetryHandler); !retry {
			mws = append(mws, m)
		}
	}
	hc := &http.Client{Transport: khttp.NewCustomTransportWithParentTransport(base, mws...), Timeout: 2 * time.Minute}
	adapter := func(version string) (*core.GraphRequestAdapterBase, error) {
		a, err := core.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, opts, nil, nil, hc)
		if err != nil {
			return nil, err
		}
		a.SetBaseUrl(cfg.graphRoot() + "/" + version)
		return a, nil
	}
	c := &client{cfg: cfg, cred: cred, pace: newPacer(cfg.ReadQuota, cfg.WriteQuota, cfg.Pace, cfg.Now), slots: make(chan struct{}, cfg.Concurrency)}
	if c.v1, err = adapter("v1.0"); err != nil {
		return nil, err
	}
	if c.beta, err = adapter("beta"); err != nil {
		return nil, err
	}
	return c, nil
}

// token gets a token (from the credential's cache when it has one): for /readyz and to tell wrong
// credentials apart at once.
func (c *client) token(ctx context.Context) error {
	_, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.cfg.scope()}})
	if err != nil {
		return failureOf(err).asError()
	}
	return nil
}

// failure is what went wrong with a request to Graph, classified.
type failure struct {
	status     int    // HTTP status; 0 for a network error or a malformed answer
	code       string // Graph's error code
	msg        string
	retryAfter time.Duration // announced by a 429 or 503
	scope      string        // x-ms-throttle-scope of a 429: which quota is exhausted
	auth       bool          // the sign-in (token request) failed
}

// appWide reports a 429 for the application's quota in the tenant (x-ms-throttle-scope
// Tenant_Application/...): every request of the portal would be refused until Retry-After, so
// everyone waits. Other 429s are retried on their own after their Retry-After.
func (f *failure) appWide() bool {
	return f.status == http.StatusTooManyRequests && strings.HasPrefix(strings.ToLower(f.scope), "tenant_application")
}

func (f *failure) Error() string { return f.msg }

// transient reports whether trying again later may succeed.
func (f *failure) transient() bool {
	switch f.status {
	case 0:
		return !f.auth
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusFailedDependency:
		return true
	}
	return false
}

// fatal reports whether the failure stops every request (credentials or a permission): no point
// in going on with other users.
func (f *failure) fatal() bool {
	return f.auth || f.status == http.StatusUnauthorized || f.status == http.StatusForbidden
}

// asError is the failure as the domain's error, with Graph's message.
func (f *failure) asError() error {
	switch {
	case f.auth:
		return mfa.Errorf(mfa.EUNAVAILABLE, "Microsoft Graph sign-in failed (check MFAPORTAL_GRAPH_TENANT_ID, _CLIENT_ID and the secret or certificate): %s", f.msg)
	case f.status == http.StatusUnauthorized:
		return mfa.Errorf(mfa.EUNAVAILABLE, "Microsoft Graph refused the portal's token: %s", f.msg)
	case f.status == http.StatusForbidden:
		return mfa.Errorf(mfa.EUNAVAILABLE, "Microsoft Graph refused access: %s (grant the application the permissions User.Read.All, UserAuthenticationMethod.ReadWrite.All, Policy.ReadWrite.AuthenticationMethod, Policy.Read.All and RoleManagement.Read.Directory, with admin consent)", f.msg)
	case f.status == http.StatusNotFound:
		return mfa.Errorf(mfa.ENOTFOUND, "Microsoft Graph: %s", f.msg)
	case f.transient():
		return mfa.Errorf(mfa.EUNAVAILABLE, "Microsoft Graph is unavailable: %s", f.msg)
	}
	return fmt.Errorf("Microsoft Graph answered %d %s: %s", f.status, f.code, f.msg)
}

// failureOf classifies an error of the SDK, azidentity or the network.
func failureOf(err error) *failure {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		f = &failure{status: oe.ResponseStatusCode, msg: "HTTP " + strconv.Itoa(oe.ResponseStatusCode)}
		if me := oe.GetErrorEscaped(); me != nil {
			if m := me.GetMessage(); m != nil && *m != "" {
				f.msg = *m
			}
			if c := me.GetCode(); c != nil {
				f.code = *c
			}
		}
		f.retryAfter = retryAfter(func(k string) string { return firstHeader(oe.ResponseHeaders, k) })
		f.scope = firstHeader(oe.ResponseHeaders, "x-ms-throttle-scope")
		return f
	}
	var ae *abs.ApiError
	if errors.As(err, &ae) {
		f = &failure{status: ae.ResponseStatusCode, msg: fmt.Sprintf("HTTP %d with no readable error", ae.ResponseStatusCode)}
		if ae.ResponseStatusCode == 0 {
			f.msg = ae.Message
		}
		f.retryAfter = retryAfter(func(k string) string { return firstHeader(ae.ResponseHeaders, k) })
		f.scope = firstHeader(ae.ResponseHeaders, "x-ms-throttle-scope")
		return f
	}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) {
		return &failure{auth: true, msg: authMessage(afe)}
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), strings.Contains(err.Error(), "unexpected end of JSON"),
		strings.Contains(err.Error(), "invalid character"):
		return &failure{msg: "a malformed or truncated answer (" + err.Error() + ")"}
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return &failure{msg: "cannot reach Graph: " + err.Error()}
	}
	return &failure{msg: err.Error()}
}

func firstHeader(h *abs.ResponseHeaders, key string) string {
	if h == nil {
		return ""
	}
	for _, k := range h.ListKeys() {
		if strings.EqualFold(k, key) {
			if v := h.Get(k); len(v) > 0 {
				return v[0]
			}
		}
	}
	return ""
}

// retryAfter reads the wait a throttled answer announces: x-ms-retry-after-ms when Graph sends it
// (exact), else Retry-After in seconds or as a date.
func retryAfter(get func(string) string) time.Duration {
	if ms, err := strconv.ParseInt(strings.TrimSpace(get("x-ms-retry-after-ms")), 10, 64); err == nil && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	v := strings.TrimSpace(get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// authMessage is the sign-in service's error description, without its trace ids.
func authMessage(afe *azidentity.AuthenticationFailedError) string {
	if afe.RawResponse != nil && afe.RawResponse.Body != nil {
		if b, err := io.ReadAll(io.LimitReader(afe.RawResponse.Body, 1<<16)); err == nil {
			var body struct {
				Description string `json:"error_description"`
			}
			if json.Unmarshal(b, &body) == nil && body.Description != "" {
				d, _, _ := strings.Cut(body.Description, " Trace ID:")
				return strings.TrimSpace(d)
			}
		}
	}
	first, _, _ := strings.Cut(afe.Error(), "\n")
	return first
}

// backoff is the wait before attempt n (1-based) of a request that failed for a passing reason:
// the announced Retry-After, else exponential from RetryBase.
func (c *client) backoff(f *failure, n int) time.Duration {
	if f.retryAfter > 0 {
		return f.retryAfter
	}
	return c.cfg.RetryBase << min(n-1, 4)
}

// do runs one request that is not batched (a users page, the policy) under the pacer, the bound
// on requests in flight and the retry policy: throttling and 5xx are retried with back-off,
// MaxAttempts times in all; credentials and permission failures are not retried.
func (c *client) do(ctx context.Context, units, writes int, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		if err := c.pace.wait(ctx, units, writes); err != nil {
			return err
		}
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		err := fn(ctx)
		<-c.slots
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f := failureOf(err)
		if !f.transient() || attempt >= c.cfg.MaxAttempts {
			return f
		}
		wait := c.backoff(f, attempt)
		if f.appWide() {
			c.pace.pause(wait)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}
