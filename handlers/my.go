package handlers

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// My are the directory users' own pages under /my (SPEC §7): sign-in with its second step,
// registration, security info and app passwords, and the setup link's Set your password. They
// never see an admin's session: the web layer gives them the user's session only.
type My struct {
	Self *mfa.SelfService // nil where users register elsewhere (Microsoft Graph)
	// Passwords throttles users' passwords (sign-in and non-browser apps), namespace "user";
	// Codes their codes, namespace "user-code".
	Passwords, Codes *mfa.Throttle
	Secure           bool // cookies only over https
	Log              *slog.Logger
}

// Cookies of the users' pages. Both are limited to /my, so that they never travel to the admins'
// pages or the API; each holds a random token whose hash the store keeps.
const (
	UserCookie   = "mfaportal_user"
	DeviceCookie = "mfaportal_device"
	myPath       = "/my"
)

type userKey struct{}

type userSession struct {
	sess  *mfa.UserSession
	user  *mfa.User
	token string
}

// NewContextWithUser returns a context carrying a signed-in user's session (set by the web layer's
// gate in front of the /my pages).
func NewContextWithUser(ctx context.Context, sess *mfa.UserSession, u *mfa.User, token string) context.Context {
	return context.WithValue(ctx, userKey{}, userSession{sess, u, token})
}

// userFrom returns the request's user session; the gate guarantees one on the pages that need it.
func userFrom(r *http.Request) (*mfa.UserSession, *mfa.User) {
	us, _ := r.Context().Value(userKey{}).(userSession)
	return us.sess, us.user
}

// clientAddr is the client's address as the web layer computed it (trusted proxies, SPEC §9).
func clientAddr(r *http.Request) string {
	if a := mfa.ClientAddrFromContext(r.Context()); a != "" {
		return a
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func clientNetip(r *http.Request) netip.Addr {
	a, _ := netip.ParseAddr(clientAddr(r))
	return a
}

func (m *My) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: myPath, MaxAge: int(maxAge / time.Second), Secure: m.Secure,
		HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// ClearUserCookie tells the browser to forget its user session cookie.
func (m *My) ClearUserCookie(w http.ResponseWriter) {
	c := m.cookie(UserCookie, "", 0)
	c.MaxAge = -1
	http.SetCookie(w, c)
}

func (m *My) page(r *http.Request, title string) templates.MyPage {
	p := templates.MyPage{Title: title}
	if sess, u := userFrom(r); sess != nil && sess.Stage == mfa.NeedNothing {
		p.UPN = u.UPN
	}
	return p
}

// render writes a user's page; such pages hold codes, secrets and new passwords, so no cache
// may keep them.
func (m *My) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	w.Header().Set("Cache-Control", "no-store")
	Render(r.Context(), w, status, c, m.Log)
}

// Error renders an error on a user's page: the user's message, a generic one for internal errors
// (logged with detail).
func (m *My) Error(w http.ResponseWriter, r *http.Request, err error) {
	if abandoned(w, r, m.Log, err, "route", routePattern(r)) { // not a server error
		return
	}
	if mfa.ErrorCode(err) == mfa.EINTERNAL && m.Log != nil {
		// The route's pattern, not the path: a setup link's path holds its secret.
		m.Log.ErrorContext(r.Context(), "internal error", "err", err, "route", routePattern(r))
	}
	status := StatusFor(err)
	heading := http.StatusText(status)
	switch status {
	case http.StatusNotFound:
		heading = "Not found"
	case http.StatusInternalServerError:
		heading = "Something went wrong"
	}
	SetRetryAfter(w, err)
	m.render(w, r, status, templates.MyError(m.page(r, heading), templates.ErrorView{Status: status, Heading: heading, Message: mfa.ErrorMessage(err)}))
}

func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
		return rc.RoutePattern()
	}
	return "unmatched"
}

// ErrNotOffered answers the users' pages where users register elsewhere.
var ErrNotOffered = &mfa.Error{Code: mfa.ENOTFOUND, Message: "Security info is not offered on this portal: your organization's users register with Microsoft (https://aka.ms/mfasetup)."}

// parseForm reads a small form; false (and an error page) when it cannot be read.
func (m *My) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		m.Error(w, r, mfa.Errorf(mfa.EINVALID, "The form could not be read."))
		return false
	}
	return true
}

// notices are the fixed messages a redirect may ask a page to show (never text from the URL).
var notices = map[string]string{
	"password":   "Your password is set. Sign in with it.",
	"registered": "You are registered: from now on you sign in with your password and a code.",
	"added":      "The method is added.",
	"deleted":    "The method is deleted.",
	"default":    "Your default sign-in method is changed.",
	"signedout":  "You have signed out.",
	"expired":    "Your session has ended. Sign in again.",
	"removed":    "The app password is deleted: apps that used it can no longer sign in.",
}

func notice(r *http.Request) string { return notices[r.URL.Query().Get("done")] }
