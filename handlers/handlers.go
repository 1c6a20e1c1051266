// Package handlers holds the portal's pages and JSON API: one file per page or API area. Every
// handler has the same shape: read the actor and the input, validate, call the mfa service, then
// render or redirect. Handlers never talk to storage or Graph directly.
package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// Handlers are the page and API handlers, with their dependencies.
type Handlers struct {
	Service   *mfa.Service
	Results   *ResultStore
	CSVLimits mfa.CSVLimits // bulk update files; zero means mfa.DefaultCSVLimits
	Log       *slog.Logger
	// Self is the users' security info on the embedded directory (setup links, methods and app
	// passwords on the user page); nil where users register elsewhere (Microsoft Graph).
	Self *mfa.SelfService
	// Notices carries a notice to the page a form redirects to.
	Notices NoticeKeeper
}

// StatusFor maps an mfa error code to its HTTP status: the one table of it in the portal.
func StatusFor(err error) int {
	switch mfa.ErrorCode(err) {
	case "":
		return http.StatusOK
	case mfa.EINVALID:
		return http.StatusBadRequest
	case mfa.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case mfa.EFORBIDDEN:
		return http.StatusForbidden
	case mfa.ENOTFOUND:
		return http.StatusNotFound
	case mfa.ECONFLICT:
		return http.StatusConflict
	case mfa.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case mfa.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case mfa.ETOOMANY:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// Actor returns the signed-in admin of the request. The web layer guarantees one on every route
// that reaches a handler.
func Actor(r *http.Request) mfa.Actor {
	a, _ := mfa.ActorFromContext(r.Context())
	return a
}

// PageFor is the chrome of a page for the request's actor.
func PageFor(r *http.Request, title, tab string) templates.Page {
	a, ok := mfa.ActorFromContext(r.Context())
	return templates.Page{Title: title, Actor: a, SignedIn: ok, Tab: tab}
}

// Render writes a templ component with a status.
func Render(ctx context.Context, w http.ResponseWriter, status int, c templ.Component, log *slog.Logger) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.Render(ctx, w); err != nil && log != nil {
		if errors.Is(ctx.Err(), context.Canceled) { // the client went away meanwhile
			log.InfoContext(ctx, "client closed the request", "err", err)
			return
		}
		log.ErrorContext(ctx, "render", "err", err)
	}
}

// logInternal logs internal errors with detail; others are the user's input and are not logged.
func (h *Handlers) logInternal(r *http.Request, err error) {
	if mfa.ErrorCode(err) != mfa.EINTERNAL || h.Log == nil {
		return
	}
	if ClientGone(r) {
		h.Log.InfoContext(r.Context(), "client closed the request", "err", err, "path", r.URL.Path)
		return
	}
	h.Log.ErrorContext(r.Context(), "internal error", "err", err, "path", r.URL.Path)
}

// StatusClientClosed is the status a request is logged with when its client went away before it
// was answered (nginx's 499): not a server error, and nothing reaches the client.
const StatusClientClosed = 499

// ClientGone reports whether the request's client went away (the connection closed, which
// cancels the request's context): an internal error then is most likely the store or the
// directory giving up on the abandoned request's work, not a fault of the server.
func ClientGone(r *http.Request) bool { return errors.Is(r.Context().Err(), context.Canceled) }

// abandoned answers a request whose client went away with StatusClientClosed when err is an
// internal error, logging it as such (with where: the path, or a route's pattern where the path
// holds a secret); it reports whether it did.
func abandoned(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error, where ...any) bool {
	if mfa.ErrorCode(err) != mfa.EINTERNAL || !ClientGone(r) {
		return false
	}
	if log != nil {
		log.InfoContext(r.Context(), "client closed the request", append([]any{"err", err}, where...)...)
	}
	w.WriteHeader(StatusClientClosed)
	return true
}

// ErrorPage renders an error as a page: the user's message, or a generic one for internal errors.
func (h *Handlers) ErrorPage(w http.ResponseWriter, r *http.Request, err error) {
	if abandoned(w, r, h.Log, err, "path", r.URL.Path) {
		return
	}
	h.logInternal(r, err)
	SetRetryAfter(w, err)
	status := StatusFor(err)
	heading := http.StatusText(status)
	switch status {
	case http.StatusForbidden:
		heading = "You don't have access to this"
	case http.StatusNotFound:
		heading = "Not found"
	case http.StatusInternalServerError:
		heading = "Something went wrong"
	}
	Render(r.Context(), w, status, templates.ErrorPage(PageFor(r, heading, ""),
		templates.ErrorView{Status: status, Heading: heading, Message: mfa.ErrorMessage(err)}), h.Log)
}

// SetRetryAfter sends Retry-After (whole seconds, rounded up) when err says how long to wait.
func SetRetryAfter(w http.ResponseWriter, err error) {
	if d := mfa.ErrorRetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
}

// APIError is the JSON body of every API error (SPEC §5).
type APIError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// WriteJSON writes v as JSON with a status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// APIErrorResponse writes err as SPEC §5's error JSON with the status of its code.
func (h *Handlers) APIErrorResponse(w http.ResponseWriter, r *http.Request, err error) {
	if abandoned(w, r, h.Log, err, "path", r.URL.Path) {
		return
	}
	h.logInternal(r, err)
	SetRetryAfter(w, err)
	WriteJSON(w, StatusFor(err), APIError{Error: mfa.ErrorMessage(err), Field: mfa.ErrorField(err)})
}

// NotFound is the 404 page (or JSON under /api/).
func (h *Handlers) NotFound(w http.ResponseWriter, r *http.Request) {
	err := mfa.Errorf(mfa.ENOTFOUND, "There is no page at %s.", r.URL.Path)
	if isAPI(r) {
		h.APIErrorResponse(w, r, err)
		return
	}
	h.ErrorPage(w, r, err)
}

// MethodNotAllowed answers a known path with the wrong method.
func (h *Handlers) MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	err := &mfa.Error{Code: mfa.EINVALID, Message: r.Method + " is not allowed here."}
	if isAPI(r) {
		WriteJSON(w, http.StatusMethodNotAllowed, APIError{Error: err.Message})
		return
	}
	w.WriteHeader(http.StatusMethodNotAllowed)
	templates.ErrorPage(PageFor(r, "Method not allowed", ""), templates.ErrorView{Status: 405, Heading: "Method not allowed", Message: err.Message}).Render(r.Context(), w)
}

func isAPI(r *http.Request) bool {
	return len(r.URL.Path) >= 5 && r.URL.Path[:5] == "/api/"
}
