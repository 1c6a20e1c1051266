package web

import (
	"net/http"
	"time"
)

// Request bodies are read under a deadline: a short one for forms and JSON, so that a client
// sending a body slowly cannot hold a connection (and its memory) for long, and a long one for
// the bulk update uploads, up to 50 MiB.
const (
	defaultBodyReadTimeout = 20 * time.Second
	uploadReadTimeout      = 5 * time.Minute
)

// readDeadline sets the request's read deadline to d from now.
func readDeadline(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
			next.ServeHTTP(w, r)
		})
	}
}

// upload gives a bulk file upload the long read deadline.
func upload(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadReadTimeout))
		h(w, r)
	}
}
