package handlers

import (
	"encoding/csv"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

func (h *Handlers) bulkView() templates.BulkView {
	return templates.BulkView{MaxBytes: mfa.FormatBytes(h.limits().MaxBytes), MaxRows: h.limits().MaxRows, RequireWhy: h.Service.RequireReason, Now: time.Now()}
}

func (h *Handlers) limits() mfa.CSVLimits {
	if h.CSVLimits.MaxBytes == 0 {
		return mfa.DefaultCSVLimits
	}
	return h.CSVLimits
}

// BulkStart is GET /bulk: step 1 and the recent jobs.
func (h *Handlers) BulkStart(w http.ResponseWriter, r *http.Request) {
	h.renderBulkStart(w, r, http.StatusOK, "")
}

func (h *Handlers) renderBulkStart(w http.ResponseWriter, r *http.Request, status int, msg string) {
	jobs, err := h.Service.ListBulkJobs(r.Context(), Actor(r), 20)
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	v := h.bulkView()
	v.Jobs, v.Error = jobs, msg
	Render(r.Context(), w, status, templates.BulkStart(PageFor(r, "bulk update", "users"), v), h.Log)
}

// BulkTemplate is GET /bulk/template.csv.
func (h *Handlers) BulkTemplate(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="bulk-update-template.csv"`)
	io.WriteString(w, mfa.BulkTemplate)
}

// uploadedFile finds the "file" part of a multipart upload and streams it, without a temporary file.
func uploadedFile(r *http.Request) (io.Reader, string, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", mfa.Errorf(mfa.EINVALID, "no file was uploaded: choose a CSV file with Browse for file")
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, "", mfa.Errorf(mfa.EINVALID, "no file was uploaded: choose a CSV file with Browse for file")
		}
		if err != nil {
			return nil, "", uploadError(err)
		}
		if part.FormName() == "file" {
			if part.FileName() == "" {
				return nil, "", mfa.Errorf(mfa.EINVALID, "no file was chosen: choose a CSV file with Browse for file")
			}
			return part, part.FileName(), nil
		}
	}
}

func uploadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return mfa.Errorf(mfa.ETOOLARGE, "the file is larger than %s: split it into smaller files", mfa.FormatBytes(mbe.Limit))
	}
	if errors.Is(err, multipart.ErrMessageTooLarge) {
		return mfa.Errorf(mfa.ETOOLARGE, "the upload is too large")
	}
	return mfa.Errorf(mfa.EINVALID, "the upload could not be read: %v", err)
}

// BulkUpload is POST /bulk: verify the file and show step 2. Nothing changes.
func (h *Handlers) BulkUpload(w http.ResponseWriter, r *http.Request) {
	actor := Actor(r)
	lim := h.limits()
	r.Body = http.MaxBytesReader(w, r.Body, lim.MaxBytes+64<<10) // the file and the form around it
	file, name, err := uploadedFile(r)
	if err == nil {
		var job *mfa.Job
		job, err = h.Service.CreateBulkJob(r.Context(), actor, name, file, lim, "")
		if err == nil {
			http.Redirect(w, r, "/bulk/"+job.ID, http.StatusSeeOther)
			return
		}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = uploadError(err)
	}
	if code := mfa.ErrorCode(err); code == mfa.EINVALID || code == mfa.ETOOLARGE {
		h.renderBulkStart(w, r, StatusFor(err), mfa.ErrorMessage(err))
		return
	}
	h.ErrorPage(w, r, err)
}

// BulkJob is GET /bulk/{id}: step 2 for a verified file, step 3 once started.
func (h *Handlers) BulkJob(w http.ResponseWriter, r *http.Request) {
	h.renderBulkJob(w, r, http.StatusOK, "")
}

func (h *Handlers) renderBulkJob(w http.ResponseWriter, r *http.Request, status int, msg string) {
	actor := Actor(r)
	job, err := h.Service.GetBulkJob(r.Context(), actor, chi.URLParam(r, "id"))
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	v := h.bulkView()
	v.Job, v.Error = job, msg
	if job.Status != mfa.JobPlanned {
		page := PageFor(r, "bulk update", "users")
		if !job.Finished() {
			page.Refresh = 3
		}
		Render(r.Context(), w, status, templates.BulkProgress(page, v), h.Log)
		return
	}
	q := r.URL.Query()
	f := mfa.RowFilter{Limit: mfa.DefaultLimit, Problems: q.Get("problems") == "1"}
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			h.ErrorPage(w, r, mfa.FieldErrorf("after", "the page link is not valid: expected a row number"))
			return
		}
		f.AfterSeq = n
	}
	rows, err := h.Service.BulkJobRows(r.Context(), actor, job.ID, f)
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	v.Rows, v.Problems = rows, f.Problems
	v.ChangedSince = h.changedSince(r.Context(), actor, job)
	base := "/bulk/" + job.ID + "?"
	if f.Problems {
		base += "problems=1&"
	}
	if f.AfterSeq > 0 {
		v.FirstURL = strings.TrimSuffix(strings.TrimSuffix(base, "&"), "?")
	}
	if len(rows) == f.Limit {
		v.NextURL = base + "after=" + strconv.FormatInt(rows[len(rows)-1].Seq, 10)
	}
	Render(r.Context(), w, status, templates.BulkVerify(PageFor(r, "bulk update", "users"), v), h.Log)
}

// BulkStartJob is POST /bulk/{id}/start: the admin confirms; the job is queued.
func (h *Handlers) BulkStartJob(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	r.ParseForm()
	_, err := h.Service.StartBulkJob(r.Context(), Actor(r), chi.URLParam(r, "id"), r.PostForm.Get("reason"))
	switch {
	case err == nil, mfa.ErrorCode(err) == mfa.ECONFLICT: // started already (a double submit): show its progress
		http.Redirect(w, r, "/bulk/"+chi.URLParam(r, "id"), http.StatusSeeOther)
	case mfa.ErrorCode(err) == mfa.EINVALID:
		h.renderBulkJob(w, r, http.StatusBadRequest, mfa.ErrorMessage(err))
	default:
		h.ErrorPage(w, r, err)
	}
}

// BulkBack is POST /bulk/{id}/back: discard the verified file and start over.
func (h *Handlers) BulkBack(w http.ResponseWriter, r *http.Request) {
	err := h.Service.DiscardBulkJob(r.Context(), Actor(r), chi.URLParam(r, "id"))
	if err != nil && mfa.ErrorCode(err) != mfa.ENOTFOUND {
		if mfa.ErrorCode(err) == mfa.ECONFLICT {
			http.Redirect(w, r, "/bulk/"+chi.URLParam(r, "id"), http.StatusSeeOther)
			return
		}
		h.ErrorPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/bulk", http.StatusSeeOther)
}

// BulkCancel is POST /bulk/{id}/cancel.
func (h *Handlers) BulkCancel(w http.ResponseWriter, r *http.Request) {
	if _, err := h.Service.CancelBulkJob(r.Context(), Actor(r), chi.URLParam(r, "id")); err != nil && mfa.ErrorCode(err) != mfa.ECONFLICT {
		h.ErrorPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/bulk/"+chi.URLParam(r, "id"), http.StatusSeeOther)
}

// APIJob is a job's progress in the API (SPEC §5).
type APIJob struct {
	ID        string         `json:"id"`
	Status    mfa.JobStatus  `json:"status"`
	Total     int            `json:"total"`
	Done      int            `json:"done"`
	Changed   int            `json:"changed"`
	Unchanged int            `json:"unchanged"`
	Failed    int            `json:"failed"`
	Counts    mfa.BulkCounts `json:"counts"`
	Rate      float64        `json:"rate"`       // rows a second
	ETA       float64        `json:"etaSeconds"` // time left, seconds
	Finished  bool           `json:"finished"`   // done or cancelled
	Cancel    bool           `json:"cancelRequested"`
	Paused    string         `json:"pausedReason"` // why a running job waits, "" if it does not
}

func newAPIJob(j *mfa.Job) APIJob {
	rate, eta := j.Rate(time.Now())
	return APIJob{ID: j.ID, Status: j.Status, Total: j.Total, Done: j.Done, Changed: j.Changed, Unchanged: j.Unchanged,
		Failed: j.Failed, Counts: j.Counts, Rate: rate, ETA: eta.Seconds(), Finished: j.Finished(), Cancel: j.CancelRequested,
		Paused: j.PausedReason}
}

// BulkStatus is GET /bulk/{id}/status: the progress as JSON for the page's poller.
func (h *Handlers) BulkStatus(w http.ResponseWriter, r *http.Request) {
	job, err := h.Service.GetBulkJob(r.Context(), Actor(r), chi.URLParam(r, "id"))
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, newAPIJob(job))
}

// BulkErrors is GET /bulk/{id}/errors.csv: the rows in error.
func (h *Handlers) BulkErrors(w http.ResponseWriter, r *http.Request) {
	h.writeRowsCSV(w, r, "bulk-errors.csv", mfa.RowFilter{Errors: true}, []string{"Line", "Username", "MFA Status", "Error"},
		func(row mfa.BulkRow) []string {
			return []string{strconv.Itoa(row.Line), row.Username, row.To.Label(), row.Error}
		})
}

// BulkResults is GET /bulk/{id}/results.csv (page and API): every row with what happened to it.
func (h *Handlers) BulkResults(w http.ResponseWriter, r *http.Request) {
	h.writeRowsCSV(w, r, "bulk-results.csv", mfa.RowFilter{}, []string{"Line", "Username", "MFA Status", "Previous Status", "Action", "Result", "Message"},
		func(row mfa.BulkRow) []string {
			result, msg := string(row.Outcome), row.Message
			switch {
			case row.Action == mfa.RowError:
				result, msg = "skipped", row.Error
			case row.Action == mfa.RowUnchanged:
				result, msg = "unchanged", strings.Join(row.Warnings, "; ")
			case row.Outcome == "":
				result = "pending"
			}
			return []string{strconv.Itoa(row.Line), row.Username, row.To.Label(), row.From.Label(), string(row.Action), result, msg}
		})
}

func (h *Handlers) writeRowsCSV(w http.ResponseWriter, r *http.Request, name string, f mfa.RowFilter, header []string, row func(mfa.BulkRow) []string) {
	actor := Actor(r)
	id := chi.URLParam(r, "id")
	if _, err := h.Service.GetBulkJob(r.Context(), actor, id); err != nil {
		if isAPI(r) {
			h.APIErrorResponse(w, r, err)
		} else {
			h.ErrorPage(w, r, err)
		}
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "\ufeff")
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	cw.Write(header)
	f.Limit = mfa.MaxLimit
	for {
		rows, err := h.Service.BulkJobRows(r.Context(), actor, id, f)
		if err != nil {
			h.logInternal(r, err)
			return
		}
		for _, rw := range rows {
			cells := row(rw)
			for i := range cells {
				cells[i] = mfa.SafeCSVField(cells[i])
			}
			cw.Write(cells)
		}
		cw.Flush()
		if len(rows) < f.Limit {
			return
		}
		f.AfterSeq = rows[len(rows)-1].Seq
	}
}
