package handlers

import "net/http"

// NoticeKeeper keeps a notice for the browser's next page (post, redirect, get) outside the URL,
// so that no page shows text taken from its URL (SPEC §9): a link cannot make the portal say
// anything. The web layer keeps it in a cookie it signs and encrypts.
type NoticeKeeper interface {
	// Keep stores msg for the next page.
	Keep(w http.ResponseWriter, msg string)
	// Take returns the kept notice, once ("" when there is none).
	Take(w http.ResponseWriter, r *http.Request) string
}

// keepNotice keeps msg for the next page.
func (h *Handlers) keepNotice(w http.ResponseWriter, msg string) {
	if h.Notices != nil {
		h.Notices.Keep(w, msg)
	}
}

// takeNotice returns the notice kept for this page.
func (h *Handlers) takeNotice(w http.ResponseWriter, r *http.Request) string {
	if h.Notices == nil {
		return ""
	}
	return h.Notices.Take(w, r)
}
