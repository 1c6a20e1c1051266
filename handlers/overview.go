package handlers

import (
	"net/http"

	"github.com/mfaportal/mfaportal/templates"
)

// OverviewPage is the overview tab (GET /overview).
func (h *Handlers) OverviewPage(w http.ResponseWriter, r *http.Request) {
	actor := Actor(r)
	o, err := h.Service.GetOverview(r.Context(), actor)
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	v := templates.OverviewView{Overview: o, Chart: templates.NewStateChart(o.Days), ConditionalAccess: h.Service.Capabilities().ConditionalAccess}
	if list, err := h.Service.ListExemptions(r.Context(), actor); err == nil {
		v.Exemptions = len(list)
	}
	Render(r.Context(), w, http.StatusOK, templates.Overview(PageFor(r, "overview", "overview"), v), h.Log)
}
