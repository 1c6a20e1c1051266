package graphemu

import (
	"crypto/tls"
	"log/slog"
	"time"
)

// Options configures a Server. The zero value is a usable emulator with no users, the documented
// quotas, system-preferred MFA on, no latency and no faults, accepting any tenant and client
// credentials.
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
	// SystemPreferredMFAOff turns the tenant's system-preferred MFA off. It is on by default, as
	// Microsoft turned it on for the tenants that had not chosen (systemCredentialPreferences state
	// "default" is Microsoft-managed).
	SystemPreferredMFAOff bool
	// NoPremiumLicense makes a tenant without Microsoft Entra ID P1 or P2: no Conditional Access
	// policies (a seeded tenant otherwise gets the realistic set of seedConditionalAccess), security
	// defaults on, and the registration report (userRegistrationDetails) refused with 403.
	NoPremiumLicense bool
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
// defaults (see the package documentation's table).
type Quotas struct {
	// Disabled turns throttling off: nothing is ever answered 429 for being over quota.
	Disabled bool
	// ReadUnitsPer10s is the resource-unit quota per application+tenant per 10 s. Zero: by the
	// tenant's size (ReadUnitsForTenant: 3,500, 5,000 or 8,000).
	ReadUnitsPer10s int
	// WritesPer150s is the write quota per application+tenant per 150 s (default 3,000).
	WritesPer150s int
	// AppUnitsPer20s is the resource-unit quota of an application across tenants per 20 s
	// (default 150,000).
	AppUnitsPer20s int
	// AppWritesPer5m is the write quota of an application across tenants per 5 minutes (default
	// 70,000).
	AppWritesPer5m int
	// TenantWritesPer5m is the write quota of a tenant across applications per 5 minutes (default
	// 18,000).
	TenantWritesPer5m int
	// TimeScale multiplies the windows: 1 is real time, 0.01 makes them 100 times shorter (10 s
	// becomes 100 ms) for tests. Zero means 1. Retry-After stays in whole seconds, as Graph sends
	// it: with a scale below 1 it announces a longer wait than the scaled window needs.
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
	// RateNonJSON answers a top-level request 200 with an HTML page instead of JSON, as a proxy in
	// the way might (the request itself was served).
	RateNonJSON float64
	// RateMissingItem leaves a step's response out of a $batch answer (the step itself ran);
	// RateUnknownID gives it an id no request had.
	RateMissingItem, RateUnknownID float64
	// Refuse, when set, refuses the calls it returns true for with 400 Request_BadRequest
	// InjectedRefusalMessage: a permanent refusal, the same every time (counted in Stats.Refused).
	Refuse func(method, path string) bool
	// RetryAfter is the wait announced on injected 429 and 503 answers, in whole seconds rounded up;
	// zero means 1 s.
	RetryAfter time.Duration
	// RetryAfterValue, when set, is sent as the Retry-After header of injected 429 and 503 answers
	// instead (e.g. "abc" or "10000", to test clients).
	RetryAfterValue string
	// Seed seeds the generator.
	Seed uint64
	// Match, when set, limits the rate-drawn faults to the calls it returns true for; path is
	// relative to the version, e.g. "/users/{id}/authentication/requirements" or "/$batch".
	Match func(method, path string) bool
}

// InjectedRefusalMessage is the message of the 400 answers Faults.Refuse injects.
const InjectedRefusalMessage = "Invalid request: the emulator was told to refuse this request (injected permanent refusal)."

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
