package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// parseAuditFilter reads the audit log's filters from URL parameters (dates as YYYY-MM-DD, UTC).
// Its messages name the parameter, never repeat its value: the audit page shows them, and no
// page shows text taken from its URL (SPEC §9).
func parseAuditFilter(q url.Values) (mfa.AuditFilter, error) {
	f := mfa.AuditFilter{Target: q.Get("target"), Actor: q.Get("actor"), Action: q.Get("action")}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return f, mfa.FieldErrorf("since", "the start date is not a date: expected YYYY-MM-DD")
		}
		f.Since = t
	}
	if s := q.Get("until"); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return f, mfa.FieldErrorf("until", "the end date is not a date: expected YYYY-MM-DD")
		}
		f.Until = t.AddDate(0, 0, 1) // inclusive
	}
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return f, mfa.FieldErrorf("cursor", "the page link is not valid: expected a record number")
		}
		f.Before = n
	}
	return f, f.Validate()
}

// AuditPage is GET /audit.
func (h *Handlers) AuditPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := templates.AuditView{Target: q.Get("target"), Actor: q.Get("actor"), Action: q.Get("action"), Since: q.Get("since"), Until: q.Get("until")}
	f, err := parseAuditFilter(q)
	if err != nil {
		v.Error, v.ErrorField = mfa.ErrorMessage(err), mfa.ErrorField(err)
		Render(r.Context(), w, StatusFor(err), templates.Audit(PageFor(r, "audit log", "audit"), v), h.Log)
		return
	}
	page, err := h.Service.FindAudit(r.Context(), Actor(r), f)
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	base := url.Values{}
	for _, k := range []string{"target", "actor", "action", "since", "until"} {
		if s := q.Get(k); s != "" {
			base.Set(k, s)
		}
	}
	v.Records = page.Records
	v.Export = listURL("/audit/export", base)
	if f.Before > 0 {
		v.FirstURL = listURL("/audit", base)
	}
	if page.NextBefore > 0 {
		v.NextURL = listURL("/audit", base, "before", strconv.FormatInt(page.NextBefore, 10))
	}
	Render(r.Context(), w, http.StatusOK, templates.Audit(PageFor(r, "audit log", "audit"), v), h.Log)
}

// ExportAudit is GET /audit/export: the filtered log as CSV.
func (h *Handlers) ExportAudit(w http.ResponseWriter, r *http.Request) {
	f, err := parseAuditFilter(r.URL.Query())
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="mfa-audit.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	if err := h.Service.ExportAudit(r.Context(), Actor(r), f, w); err != nil {
		h.logInternal(r, err)
	}
}

// APIAudit is GET /api/v1/audit?target=&actor=&action=&limit=&cursor=.
func (h *Handlers) APIAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "target", "actor", "action", "limit", "cursor", "since", "until":
		default:
			h.APIErrorResponse(w, r, mfa.FieldErrorf(k, "unknown parameter %q: expected target, actor, action, since, until, limit or cursor", k))
			return
		}
	}
	if c := q.Get("cursor"); c != "" {
		q.Set("before", c)
	}
	f, err := parseAuditFilter(q)
	if err == nil && q.Get("limit") != "" {
		n, perr := strconv.Atoi(q.Get("limit"))
		if perr != nil || n < 1 || n > mfa.MaxLimit {
			err = mfa.FieldErrorf("limit", "limit must be a whole number from 1 to %d, found %q", mfa.MaxLimit, truncateStr(q.Get("limit"), 20))
		}
		f.Limit = n
	}
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	page, err := h.Service.FindAudit(r.Context(), Actor(r), f)
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	out := struct {
		Records    []*mfa.AuditRecord `json:"records"`
		NextCursor *string            `json:"nextCursor"`
	}{Records: page.Records}
	if out.Records == nil {
		out.Records = []*mfa.AuditRecord{}
	}
	if page.NextBefore > 0 {
		s := strconv.FormatInt(page.NextBefore, 10)
		out.NextCursor = &s
	}
	WriteJSON(w, http.StatusOK, out)
}
