package handlers

import (
	"net/http"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// syncView is the users page's sync panel, nil for a directory that is not synchronized.
func (h *Handlers) syncView(r *http.Request) *templates.SyncView {
	actor := Actor(r)
	st, err := h.Service.SyncStatus(r.Context(), actor)
	if err != nil || st == nil {
		if err != nil {
			h.logInternal(r, err)
		}
		return nil
	}
	return &templates.SyncView{Status: *st, CanSync: actor.Role.Can(mfa.PermBulkUpdate)}
}

// syncJSON is GET /users/sync: the sync's progress, polled by the users page while it runs.
type syncJSON struct {
	Running     bool       `json:"running"`
	Done        int        `json:"done"`
	Total       int        `json:"total"`
	LastSync    *time.Time `json:"lastSync"`
	LastError   string     `json:"lastError,omitempty"`
	LastErrorAt *time.Time `json:"lastErrorAt,omitempty"`
}

// SyncStatus answers GET /users/sync.
func (h *Handlers) SyncStatus(w http.ResponseWriter, r *http.Request) {
	st, err := h.Service.SyncStatus(r.Context(), Actor(r))
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	if st == nil {
		h.APIErrorResponse(w, r, mfa.Errorf(mfa.ENOTFOUND, "this directory is not synchronized from another"))
		return
	}
	WriteJSON(w, http.StatusOK, syncJSON{Running: st.Running, Done: st.Done, Total: st.Total, LastSync: timePtr(st.LastSync),
		LastError: st.LastError, LastErrorAt: timePtr(st.LastErrorAt)})
}

// SyncNow is POST /users/sync ("sync now"): start a full sync and go back to the users page.
func (h *Handlers) SyncNow(w http.ResponseWriter, r *http.Request) {
	err := h.Service.StartSync(r.Context(), Actor(r))
	notice := "The sync started: the list is updated page by page as Microsoft Graph is read."
	switch mfa.ErrorCode(err) {
	case "":
	case mfa.ECONFLICT:
		notice = "A sync is already running."
	default:
		h.ErrorPage(w, r, err)
		return
	}
	h.keepNotice(w, notice)
	http.Redirect(w, r, "/users", http.StatusSeeOther)
}

// capabilities are what the backend can apply (everything when it has no settings store).
func (h *Handlers) capabilities() mfa.Capabilities {
	if h.Service.Settings == nil {
		return mfa.AllCapabilities()
	}
	return h.Service.Settings.Capabilities()
}
