package handlers

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// BulkUndo is POST /bulk/{id}/undo ("undo this update"): plan a job that returns every user the
// finished job changed to the state before it, and show its verify page; when the admin already
// planned one and has not started it, show that one instead of planning another. include=changed
// also undoes the users changed since by someone else; discard names the undo plan it replaces.
func (h *Handlers) BulkUndo(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	r.ParseForm()
	actor := Actor(r)
	include, discard := r.PostForm.Get("include") == "changed", r.PostForm.Get("discard")
	if !include && discard == "" {
		if planned, err := h.Service.PlannedUndo(r.Context(), actor, chi.URLParam(r, "id")); err != nil {
			h.ErrorPage(w, r, err)
			return
		} else if planned != nil {
			http.Redirect(w, r, "/bulk/"+planned.ID, http.StatusSeeOther)
			return
		}
	}
	if discard != "" {
		// The plan being replaced; already gone or started is no reason to stop.
		if j, err := h.Service.GetBulkJob(r.Context(), actor, discard); err == nil && j.UndoOf == chi.URLParam(r, "id") {
			h.Service.DiscardBulkJob(r.Context(), actor, discard)
		}
	}
	job, err := h.Service.PlanUndo(r.Context(), actor, chi.URLParam(r, "id"), include)
	switch c := mfa.ErrorCode(err); {
	case err == nil:
		http.Redirect(w, r, "/bulk/"+job.ID, http.StatusSeeOther)
	case c == mfa.EINVALID || c == mfa.ECONFLICT:
		h.renderBulkJob(w, r, StatusFor(err), mfa.ErrorMessage(err))
	default:
		h.ErrorPage(w, r, err)
	}
}

// changedSince counts the rows of an undo plan skipped because their user was changed since the
// update (read a page at a time, at most 20 pages: beyond that the count says "at least").
func (h *Handlers) changedSince(ctx context.Context, actor mfa.Actor, job *mfa.Job) int {
	if !job.IsUndo() || job.Counts.Errors == 0 {
		return 0
	}
	n := 0
	f := mfa.RowFilter{Errors: true, Limit: mfa.MaxLimit}
	for range 20 {
		rows, err := h.Service.BulkJobRows(ctx, actor, job.ID, f)
		if err != nil || len(rows) == 0 {
			break
		}
		n += mfa.ChangedSinceCount(rows)
		f.AfterSeq = rows[len(rows)-1].Seq
	}
	return n
}
