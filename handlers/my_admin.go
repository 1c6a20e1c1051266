package handlers

import (
	"context"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

type setupLinkKey struct{}

// setupLinkResult is the outcome of create setup link, for the user page rendered with it.
type setupLinkResult struct {
	link *mfa.SetupLink
	err  error
}

// userSecurity is the security section of an admin's user page on the embedded directory: the
// user's methods with when they were added, app passwords by name, and create setup link for the
// roles that may act on the user. nil where users register elsewhere.
func (h *Handlers) userSecurity(r *http.Request, u *mfa.User) (*templates.UserSecurityView, error) {
	if h.Self == nil {
		return nil, nil
	}
	actor := Actor(r)
	info, err := h.Self.UserSecurityInfo(r.Context(), actor, u)
	if err != nil {
		return nil, err
	}
	v := &templates.UserSecurityView{UPN: u.UPN, Info: info, CanSetupLink: actor.Role.CanOn(mfa.PermManageSettings, u.Privileged)}
	if res, ok := r.Context().Value(setupLinkKey{}).(setupLinkResult); ok {
		v.SetupLink = res.link
		if res.err != nil {
			v.Error = mfa.ErrorMessage(res.err)
		}
	}
	return v, nil
}

// CreateSetupLink is POST /users/{upn}/setup-link: a one-time link with which the user sets their
// password, shown on this response only (no redirect: it exists nowhere to be shown again).
func (h *Handlers) CreateSetupLink(w http.ResponseWriter, r *http.Request) {
	upn, err := url.PathUnescape(chi.URLParam(r, "upn"))
	if err != nil {
		upn = chi.URLParam(r, "upn")
	}
	if h.Self == nil {
		h.ErrorPage(w, r, ErrNotOffered)
		return
	}
	link, err := h.Self.CreateSetupLink(r.Context(), Actor(r), upn)
	switch mfa.ErrorCode(err) {
	case "", mfa.EFORBIDDEN:
	default:
		h.ErrorPage(w, r, err)
		return
	}
	status := http.StatusOK
	if err != nil {
		status = StatusFor(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	r = r.WithContext(context.WithValue(r.Context(), setupLinkKey{}, setupLinkResult{link: link, err: err}))
	h.renderUserPage(w, r, upn, "", status, nil)
}
