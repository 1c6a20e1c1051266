package handlers

import (
	"net/http"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// conversionListed is how many users of each list the move to Conditional Access page shows (the
// rest are a link to the users page, filtered).
const conversionListed = 25

// ConversionPage is GET /conditional-access: the move to Conditional Access (SPEC §11).
func (h *Handlers) ConversionPage(w http.ResponseWriter, r *http.Request) {
	h.renderConversion(w, r, http.StatusOK, "", "")
}

func (h *Handlers) renderConversion(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	preview, err := h.Service.PreviewConversion(r.Context(), Actor(r), conversionListed)
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	v := templates.ConversionView{Preview: preview, Reason: reason, Error: msg, RequireWhy: h.Service.RequireReason}
	Render(r.Context(), w, status, templates.Conversion(PageFor(r, "move to Conditional Access", "conditional-access"), v), h.Log)
}

// PlanConversion is POST /conditional-access/plan: plan the bulk job that disables per-user MFA for
// the covered users, and show its verify page.
func (h *Handlers) PlanConversion(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.renderConversion(w, r, http.StatusBadRequest, "", "The form could not be read: try again.")
		return
	}
	reason := r.PostForm.Get("reason")
	job, err := h.Service.PlanConversion(r.Context(), Actor(r), reason)
	switch c := mfa.ErrorCode(err); {
	case err == nil:
		http.Redirect(w, r, "/bulk/"+job.ID, http.StatusSeeOther)
	case c == mfa.EINVALID:
		h.renderConversion(w, r, StatusFor(err), reason, mfa.ErrorMessage(err))
	default:
		h.ErrorPage(w, r, err)
	}
}
