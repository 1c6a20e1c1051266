// Package mfa is the domain of mfaportal: per-user MFA states and their rules, users, methods,
// settings and audit records, and the interfaces that directory backends implement.
//
// It imports no web, storage or SDK package: backends live in sub-packages (mfa/sqlite, mfa/graph)
// and the HTTP layer in web/ and handlers/.
package mfa

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. One place (web) maps them to HTTP status codes.
const (
	EINVALID      = "invalid"      // bad input: 400
	EUNAUTHORIZED = "unauthorized" // not signed in or bad credentials: 401
	EFORBIDDEN    = "forbidden"    // the role may not: 403
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // changed meanwhile: 409
	ETOOLARGE     = "too_large"    // 413
	ETOOMANY      = "too_many"     // too many attempts (sign-in throttling): 429 with Retry-After
	EUNAVAILABLE  = "unavailable"  // the backend cannot do this: 503 or a read-only control
	EINTERNAL     = "internal"     // anything else: 500, logged with detail, never shown
)

// Error is the one error type of the domain. Message is safe to show to the user; Field names the
// input at fault when one is.
type Error struct {
	Code    string
	Message string
	Field   string
	// RetryAfter, when set, is how long the caller should wait before trying again (ETOOMANY,
	// EUNAVAILABLE): the web layer sends it as Retry-After.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// Errorf builds an *Error with a user-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf builds an EINVALID *Error that names the field at fault.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EINTERNAL for errors that are not *Error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var le *LineErrors
	var fe FieldErrors
	if errors.As(err, &le) || errors.As(err, &fe) {
		return EINVALID
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; internal errors get a generic message so
// that no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	var le *LineErrors
	if errors.As(err, &le) {
		return le.Error()
	}
	var fe FieldErrors
	if errors.As(err, &fe) {
		return fe.Error()
	}
	return "An internal error occurred. It has been logged; please try again."
}

// ErrorField returns the field named by err, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	var fe FieldErrors
	if errors.As(err, &fe) && len(fe) > 0 {
		return fe[0].Field
	}
	return ""
}

// ErrorRetryAfter returns how long err says to wait before trying again, 0 if it does not say.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
