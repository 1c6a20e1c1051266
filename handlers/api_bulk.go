package handlers

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// APIBulkRow is a planned row in the API (SPEC §5).
type APIBulkRow struct {
	Line     int       `json:"line"`
	Username string    `json:"username"`
	From     mfa.State `json:"from"`
	To       mfa.State `json:"to"`
	Action   string    `json:"action"`
	Error    string    `json:"error"`
	Warnings []string  `json:"warnings"`
}

// APIBulk is POST /api/v1/bulk[?dryRun=true] with the CSV file as the body.
func (h *Handlers) APIBulk(w http.ResponseWriter, r *http.Request) {
	actor := Actor(r)
	dry := false
	switch v := r.URL.Query().Get("dryRun"); v {
	case "", "false":
	case "true", "1":
		dry = true
	default:
		h.APIErrorResponse(w, r, mfa.FieldErrorf("dryRun", "dryRun must be true or false, found %q", truncateStr(v, 20)))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "text/csv" && mt != "text/plain" && mt != "application/octet-stream") {
			h.APIErrorResponse(w, r, mfa.Errorf(mfa.EINVALID, "Content-Type is %q: expected text/csv with the file as the body", truncateStr(ct, 60)))
			return
		}
	}
	lim := h.limits()
	r.Body = http.MaxBytesReader(w, r.Body, lim.MaxBytes+1)
	job, err := h.Service.CreateBulkJob(r.Context(), actor, "api upload", r.Body, lim, r.URL.Query().Get("reason"))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = uploadError(err)
		}
		h.APIErrorResponse(w, r, err)
		return
	}
	if !dry {
		if _, err := h.Service.StartBulkJob(r.Context(), actor, job.ID, job.Reason); err != nil {
			h.APIErrorResponse(w, r, err)
			return
		}
		WriteJSON(w, http.StatusAccepted, struct {
			ID     string         `json:"id"`
			Counts mfa.BulkCounts `json:"counts"`
		}{job.ID, job.Counts})
		return
	}
	// A dry run: the plan was stored to be read back a page at a time, then it is deleted, also
	// when the client goes away meanwhile (EndBulkDryRun does not heed the request's end).
	defer func() {
		if err := h.Service.EndBulkDryRun(r.Context(), actor, job.ID); err != nil {
			h.logInternal(r, err)
		}
	}()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	counts, _ := json.Marshal(job.Counts)
	w.Write([]byte(`{"counts":` + string(counts)))
	if job.Notice != "" { // how the file was read (e.g. as Windows-1252)
		notice, _ := json.Marshal(job.Notice)
		w.Write([]byte(`,"notice":` + string(notice)))
	}
	w.Write([]byte(`,"rows":[`))
	f := mfa.RowFilter{Limit: mfa.MaxLimit}
	first := true
	for {
		rows, err := h.Service.BulkJobRows(r.Context(), actor, job.ID, f)
		if err != nil {
			h.logInternal(r, err)
			return // the body is cut short: the client sees invalid JSON rather than a wrong plan
		}
		for _, row := range rows {
			warnings := row.Warnings
			if warnings == nil {
				warnings = []string{}
			}
			b, _ := json.Marshal(APIBulkRow{Line: row.Line, Username: row.Username, From: row.From, To: row.To, Action: string(row.Action), Error: row.Error, Warnings: warnings})
			if !first {
				w.Write([]byte(","))
			}
			first = false
			w.Write(b)
		}
		if len(rows) < f.Limit {
			break
		}
		f.AfterSeq = rows[len(rows)-1].Seq
	}
	w.Write([]byte("]}\n"))
}

// APIBulkJob is GET /api/v1/bulk/{id}.
func (h *Handlers) APIBulkJob(w http.ResponseWriter, r *http.Request) {
	job, err := h.Service.GetBulkJob(r.Context(), Actor(r), chi.URLParam(r, "id"))
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, newAPIJob(job))
}

// APIBulkCancel is POST /api/v1/bulk/{id}/cancel.
func (h *Handlers) APIBulkCancel(w http.ResponseWriter, r *http.Request) {
	job, err := h.Service.CancelBulkJob(r.Context(), Actor(r), chi.URLParam(r, "id"))
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, newAPIJob(job))
}
