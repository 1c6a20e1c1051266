package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/mfaportal/mfaportal/mfa"
)

// failure is what went wrong with a request to Graph, classified. Three kinds matter (SPEC §8):
//   - transient (network, a malformed answer, 408, 429, 5xx): tried again after Retry-After or a
//     back-off;
//   - fatal (the sign-in, 401, 403): every request would fail the same way, so the run stops and a
//     job pauses with Graph's message;
//   - a refusal (any other 4xx): Graph will answer the same again, so it is never retried: the row
//     or step fails with Graph's own message and the others go on.
type failure struct {
	status     int    // HTTP status; 0 for a network error or a malformed answer
	code       string // Graph's error code
	msg        string
	retryAfter time.Duration // announced by a 429 or 503
	scope      string        // x-ms-throttle-scope of a 429: which quota is exhausted
	auth       bool          // the sign-in (token request) failed
	whole      bool          // msg is a whole sentence about Graph: shown as it is
}

func (f *failure) Error() string { return f.msg }

// transient reports whether trying again later may succeed.
func (f *failure) transient() bool {
	switch f.status {
	case 0:
		return !f.auth
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// fatal reports whether the failure stops every request (credentials or a permission): no point
// in going on with other users.
func (f *failure) fatal() bool {
	return f.auth || f.status == http.StatusUnauthorized || f.status == http.StatusForbidden
}

// refused reports a permanent refusal of this one request.
func (f *failure) refused() bool {
	return !f.transient() && !f.fatal() && f.status != http.StatusNotFound
}

// shared reports a 429 for a quota the portal's requests share (x-ms-throttle-scope names one:
// Tenant_Application, Application or Tenant; throttling-limits.md): every request would be refused
// until Retry-After, so everyone waits. Other 429s are retried on their own after their Retry-After.
func (f *failure) shared() bool {
	return f.status == http.StatusTooManyRequests && f.scope != ""
}

// refusal is the domain error of a permanent refusal: EUNAVAILABLE with Graph's message, but about
// one request, not about Graph as a whole (noteError leaves it off the users page's banner).
type refusal struct{ err *mfa.Error }

func (r *refusal) Error() string { return r.err.Message }
func (r *refusal) Unwrap() error { return r.err }

// asError is the failure as the domain's error, with Graph's message.
func (f *failure) asError() error {
	switch {
	case f.auth:
		return mfa.Errorf(mfa.EUNAVAILABLE, "Microsoft Graph sign-in failed (check MFAPORTAL_GRAPH_TENANT_ID, _CLIENT_ID and the secret or certificate): %s", f.msg)
	case f.status == http.StatusUnauthorized:
		return mfa.Errorf(mfa.EUNAVAILABLE, "Microsoft Graph refused the portal's token: %s", f.msg)
	case f.status == http.StatusForbidden:
		return mfa.Errorf(mfa.EUNAVAILABLE, "Microsoft Graph refused access: %s (grant the application User.Read.All, Policy.ReadWrite.AuthenticationMethod (per-user MFA states), UserAuthenticationMethod.ReadWrite.All (methods), Policy.Read.All and RoleManagement.Read.Directory, with admin consent)", f.msg)
	case f.status == http.StatusNotFound:
		return mfa.Errorf(mfa.ENOTFOUND, "Microsoft Graph: %s", f.msg)
	case f.whole:
		return &refusal{mfa.Errorf(mfa.EUNAVAILABLE, "%s", f.msg)}
	case f.transient():
		return mfa.Errorf(mfa.EUNAVAILABLE, "Microsoft Graph is unavailable: %s", f.msg)
	}
	code := strconv.Itoa(f.status)
	if f.code != "" {
		code += " " + f.code
	}
	return &refusal{mfa.Errorf(mfa.EUNAVAILABLE, "Microsoft Graph refused: %s (%s)", f.msg, code)}
}

// isRefusal reports whether err is a permanent refusal of one request.
func isRefusal(err error) bool {
	var r *refusal
	return errors.As(err, &r)
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
		switch {
		case ae.ResponseStatusCode == 0:
			f.msg = ae.Message
		case ae.ResponseStatusCode < 300: // a success whose body could not be read: malformed, passing
			f.status, f.msg = 0, fmt.Sprintf("a malformed answer (HTTP %d: %s)", ae.ResponseStatusCode, ae.Message)
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
		strings.Contains(err.Error(), "invalid character"), strings.Contains(err.Error(), "content type"):
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

// retryAfter reads the wait a throttled answer announces: Retry-After, a whole number of seconds as
// Graph sends it (concepts/throttling.md), or an HTTP date. Anything else ("abc", a negative or
// fractional number) counts as no announcement: the caller backs off on its own. The wait is not
// bounded here: the caller caps it (Config.MaxRetryWait).
func retryAfter(get func(string) string) time.Duration {
	v := strings.TrimSpace(get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 1_000_000_000)) * time.Second // no overflow
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
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
