package web

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// metricsAuth asks for MFAPORTAL_METRICS_TOKEN as a bearer token when one is set (Prometheus's
// authorization.credentials); without one, /metrics is open, for scrapers on a private network.
func (s *Server) metricsAuth(h http.HandlerFunc) http.HandlerFunc {
	if s.cfg.MetricsToken == "" {
		return h
	}
	want := []byte(s.cfg.MetricsToken)
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mfaportal metrics"`)
			http.Error(w, "Send the metrics token as Authorization: Bearer TOKEN.", http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}
