package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// Exempt is POST /users/{upn}/exemption ("Disable for a while"): hours and a reason.
func (h *Handlers) Exempt(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	r.ParseForm()
	upn := upnParam(r)
	form := templates.ExemptForm{Hours: truncateStr(strings.TrimSpace(r.PostForm.Get("hours")), 20), Reason: r.PostForm.Get("reason")}
	hours, err := strconv.Atoi(form.Hours)
	if err != nil {
		err = mfa.FieldErrorf("hours", "The number of hours must be a whole number from 1 to %d.", mfa.MaxExemptionHours)
	} else {
		_, _, err = h.Service.StartExemption(r.Context(), Actor(r), mfa.ExemptionRequest{UPN: upn, Hours: hours,
			Reason: form.Reason, Source: mfa.SourcePage})
	}
	switch c := mfa.ErrorCode(err); {
	case err == nil:
		http.Redirect(w, r, templates.UserURL(upn), http.StatusSeeOther)
	case c == mfa.EINVALID || c == mfa.ECONFLICT || c == mfa.EFORBIDDEN:
		// Next to the field at fault, in the form left open with what was typed.
		form.Error, form.Field = mfa.ErrorMessage(err), mfa.ErrorField(err)
		h.renderUserPageWith(w, r, upn, "", StatusFor(err), nil, func(v *templates.UserView) {
			if v.Exemption != nil || !v.CanExempt || v.User.State == mfa.StateDisabled {
				v.Notice = form.Error // the form is not drawn (exempted or Disabled already, or not the role's to exempt)
				return
			}
			v.ExemptForm = form
		})
	default:
		h.ErrorPage(w, r, err)
	}
}

// EndExemptionEarly is POST /users/{upn}/exemption/end: the user returns to their state now.
func (h *Handlers) EndExemptionEarly(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	r.ParseForm()
	upn := upnParam(r)
	_, err := h.Service.EndExemption(r.Context(), Actor(r), upn, mfa.SourcePage)
	if err == nil && r.PostForm.Get("return") == "/exemptions" {
		http.Redirect(w, r, "/exemptions", http.StatusSeeOther)
		return
	}
	h.afterExemption(w, r, upn, err)
}

// afterExemption answers the end of an exemption: the user's page, or why it was refused.
func (h *Handlers) afterExemption(w http.ResponseWriter, r *http.Request, upn string, err error) {
	switch c := mfa.ErrorCode(err); {
	case err == nil:
		http.Redirect(w, r, templates.UserURL(upn), http.StatusSeeOther)
	case c == mfa.EINVALID || c == mfa.ECONFLICT || c == mfa.EFORBIDDEN:
		h.renderUserPage(w, r, upn, "", StatusFor(err), nil, mfa.ErrorMessage(err))
	default:
		h.ErrorPage(w, r, err)
	}
}

// ExemptionsPage is GET /exemptions: the users disabled for a while.
func (h *Handlers) ExemptionsPage(w http.ResponseWriter, r *http.Request) {
	actor := Actor(r)
	list, err := h.Service.ListExemptions(r.Context(), actor)
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	v := templates.ExemptionsView{Exemptions: list, Now: h.Service.CurrentTime(), CanEnd: actor.Role.Can(mfa.PermChangeState)}
	Render(r.Context(), w, http.StatusOK, templates.Exemptions(PageFor(r, "disabled for a while", "overview"), v), h.Log)
}

// APIExemption is one exemption in the API.
type APIExemption struct {
	PreviousState mfa.State `json:"previousState"`
	Until         time.Time `json:"until"`
	Reason        string    `json:"reason"`
	By            string    `json:"by"`
}

// APIExempt is POST /api/v1/users/{upn}/exemption {"hours": N, "reason"}.
func (h *Handlers) APIExempt(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Hours  *int   `json:"hours"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	if body.Hours == nil {
		h.APIErrorResponse(w, r, mfa.FieldErrorf("hours", "hours is required: 1 to %d", mfa.MaxExemptionHours))
		return
	}
	ex, u, err := h.Service.StartExemption(r.Context(), Actor(r), mfa.ExemptionRequest{UPN: upnParam(r), Hours: *body.Hours,
		Reason: body.Reason, Source: mfa.SourceAPI})
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, struct {
		User      APIUser      `json:"user"`
		Exemption APIExemption `json:"exemption"`
	}{NewAPIUser(u), APIExemption{PreviousState: ex.Previous, Until: ex.Until, Reason: ex.Reason, By: ex.Actor.Name}})
}

// APIEndExemption is DELETE /api/v1/users/{upn}/exemption: end it now.
func (h *Handlers) APIEndExemption(w http.ResponseWriter, r *http.Request) {
	u, err := h.Service.EndExemption(r.Context(), Actor(r), upnParam(r), mfa.SourceAPI)
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, struct {
		User APIUser `json:"user"`
	}{NewAPIUser(u)})
}
