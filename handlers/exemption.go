package handlers

import (
	"fmt"
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
	hours, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("hours")))
	if err != nil {
		h.renderUserPage(w, r, upn, "", http.StatusBadRequest, nil, "The number of hours must be a whole number from 1 to 720.")
		return
	}
	_, _, err = h.Service.StartExemption(r.Context(), Actor(r), mfa.ExemptionRequest{UPN: upn, Hours: hours,
		Reason: r.PostForm.Get("reason"), Source: mfa.SourcePage})
	h.afterExemption(w, r, upn, err, fmt.Sprintf("Disabled for %d hours.", hours))
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
	h.afterExemption(w, r, upn, err, "The exemption was ended.")
}

func (h *Handlers) afterExemption(w http.ResponseWriter, r *http.Request, upn string, err error, done string) {
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
