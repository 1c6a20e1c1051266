package web

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// newLeaseMetric is mfaportal_lease_held: 1 for each lease this replica holds (the bulk runner,
// the chores, the Graph sync, the audit stream), 0 for the others it waits for. Of the replicas
// sharing a database, exactly one should show 1 for each lease.
func newLeaseMetric(reg prometheus.Registerer) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mfaportal_lease_held", Help: "1 while this replica holds the lease (does the work named), 0 otherwise.",
	}, []string{"lease"})
	reg.MustRegister(g)
	return g
}

// LeaseHeld records that this replica holds the lease name (held), or no longer does: for an
// mfa.LeaseHolder's OnHold.
func (s *Server) LeaseHeld(name string, held bool) {
	v := 0.0
	if held {
		v = 1
	}
	s.leases.WithLabelValues(name).Set(v)
}

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
