package handlers

import (
	"net/http"

	"github.com/mfaportal/mfaportal/mfa"
)

// LegacyProfile is the JSON answer of the non-browser apps' endpoint.
type LegacyProfile struct {
	UPN              string `json:"userPrincipalName"`
	DisplayName      string `json:"displayName"`
	State            string `json:"perUserMfaState"`
	AuthenticatedWth string `json:"authenticatedWith"` // "app password" or "password"
}

// Legacy is GET /legacy/v1/profile, the stand-in for the mail and calendar protocols of
// non-browser apps (SPEC §1): HTTP Basic authentication with the user name and an app password,
// or the account password until the user is Enforced. It is what gives app passwords their use
// (and their "last used"). Failures are throttled like the users' sign-in.
func (m *My) Legacy(w http.ResponseWriter, r *http.Request) {
	if m.Self == nil {
		WriteJSON(w, http.StatusNotFound, APIError{Error: mfa.ErrorMessage(ErrNotOffered)})
		return
	}
	upn, password, ok := r.BasicAuth()
	if !ok {
		m.legacyChallenge(w, "Send your user name and an app password with HTTP Basic authentication.")
		return
	}
	var in *mfa.LegacySignIn
	ip := clientAddr(r)
	err := m.Passwords.Guard(r.Context(), upn, ip, func() error {
		var err error
		in, err = m.Self.AuthenticateLegacy(r.Context(), upn, password)
		return err
	})
	switch mfa.ErrorCode(err) {
	case "":
	case mfa.EUNAUTHORIZED:
		if m.Log != nil {
			m.Log.WarnContext(r.Context(), "non-browser app sign-in refused", "user", upn, "remote", ip)
		}
		m.legacyChallenge(w, mfa.ErrorMessage(err))
		return
	default:
		if abandoned(w, r, m.Log, err, "route", routePattern(r)) { // the client's leaving, not a server error
			return
		}
		SetRetryAfter(w, err)
		if mfa.ErrorCode(err) == mfa.EINTERNAL && m.Log != nil {
			m.Log.ErrorContext(r.Context(), "internal error", "err", err, "route", routePattern(r))
		}
		WriteJSON(w, StatusFor(err), APIError{Error: mfa.ErrorMessage(err)})
		return
	}
	WriteJSON(w, http.StatusOK, LegacyProfile{UPN: in.User.UPN, DisplayName: in.User.DisplayName, State: string(in.User.State), AuthenticatedWth: in.With})
}

func (m *My) legacyChallenge(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="mfaportal non-browser apps", charset="UTF-8"`)
	WriteJSON(w, http.StatusUnauthorized, APIError{Error: msg})
}
