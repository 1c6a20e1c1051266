package handlers

import (
	"net/http"
	"net/url"

	"github.com/a-h/templ"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// RegistrationPage is the registration tab (GET /registration?after=CURSOR).
func (h *Handlers) RegistrationPage(w http.ResponseWriter, r *http.Request) {
	h.renderRegistration(w, r, r.URL.Query().Get("after"), http.StatusOK, nil)
}

// renderRegistration renders a page of the users awaiting registration, with an optional dialog.
func (h *Handlers) renderRegistration(w http.ResponseWriter, r *http.Request, after string, status int, dialog templ.Component, notices ...string) {
	actor := Actor(r)
	v := templates.RegistrationView{Now: h.Service.CurrentTime(), Self: "/registration", Dialog: dialog, Notices: notices}
	f := mfa.RegistrationFilter{After: after}
	page, err := h.Service.AwaitingRegistration(r.Context(), actor, f)
	if mfa.ErrorField(err) == "cursor" {
		v.Notices = append(v.Notices, "The page link is no longer valid; showing the first page.")
		f.After = ""
		page, err = h.Service.AwaitingRegistration(r.Context(), actor, f)
	}
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	v.Page = page
	if f.After != "" {
		v.FirstURL = "/registration"
		v.Self = "/registration?after=" + url.QueryEscape(f.After)
	}
	if page.NextCursor != "" {
		v.NextURL = "/registration?after=" + url.QueryEscape(page.NextCursor)
	}
	h.notifyView(r, &v)
	Render(r.Context(), w, status, templates.Registration(PageFor(r, "registration", "registration"), v), h.Log)
}

// ExportRegistration streams the users awaiting registration as CSV (GET /registration/export).
func (h *Handlers) ExportRegistration(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="mfa-awaiting-registration.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	if err := h.Service.ExportAwaitingRegistration(r.Context(), Actor(r), w); err != nil {
		h.logInternal(r, err)
	}
}
