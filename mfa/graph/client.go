package graph

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
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
	// caller after a 429 of a shared quota, never retries a permanent refusal, bounds the wait, and
	// retries 500, 502 and network errors, which the SDK's handler does not.
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

// backoff is the wait before attempt n (1-based) of a request that failed for a passing reason:
// the announced Retry-After, else exponential from RetryBase; never more than MaxRetryWait (a
// Retry-After of hours is not waited for: the request is tried again, or reported, sooner).
func (c *client) backoff(f *failure, n int) time.Duration {
	d := c.cfg.RetryBase << min(n-1, 4)
	if f.retryAfter > 0 {
		d = f.retryAfter
	}
	return min(d, c.cfg.MaxRetryWait)
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
		if f.shared() {
			c.pace.pause(wait)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}
