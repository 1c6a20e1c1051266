package graphemu

import "sync/atomic"

// Stats is a snapshot of what the server has seen and done since it started.
type Stats struct {
	Requests        int64 // HTTP requests received, any path
	GraphCalls      int64 // Graph operations answered: top-level calls plus $batch steps
	BatchRequests   int64 // $batch POSTs accepted for processing
	BatchSteps      int64 // steps inside those batches
	BatchesRefused  int64 // $batch POSTs refused whole (400: malformed, too many, mixed, bad dependsOn)
	TokensIssued    int64
	TokensRefused   int64 // token requests answered with an error
	Unauthorized    int64 // Graph calls refused 401
	Forbidden       int64 // Graph calls refused 403 for a missing permission
	Throttled       int64 // 429 answers for being over quota (top-level or in a batch)
	Injected429     int64
	Injected5xx     int64
	Refused         int64 // 400 answers injected by Faults.Refuse
	Dropped         int64 // connections closed without an answer
	Truncated       int64 // answers cut short
	NonJSON         int64 // answers replaced by an HTML page
	ItemsMangled    int64 // $batch responses left out or given an unknown id
	GzipBodies      int64 // request bodies that came gzip-compressed
	ReadUnits       int64 // resource units charged
	Writes          int64 // writes charged against the write quota
	WritesApplied   int64 // write calls that succeeded (2xx)
	StateChanges    int64 // per-user MFA states actually changed by PATCH
	MethodsDeleted  int64
	SessionsRevoked int64
	InFlight        int64 // top-level requests being served now
	MaxInFlight     int64 // the most served at once
}

type counters struct {
	requests, graphCalls, batchRequests, batchSteps, batchesRefused, tokensIssued, tokensRefused atomic.Int64
	unauthorized, forbidden, throttled, injected429, injected5xx, refused, dropped, truncated    atomic.Int64
	nonJSON, itemsMangled, gzipped, readUnits, writes, writesApplied, stateChanges               atomic.Int64
	methodsDeleted, sessionsRevoked, inFlight, maxInFlight                                       atomic.Int64
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Requests: c.requests.Load(), GraphCalls: c.graphCalls.Load(), BatchRequests: c.batchRequests.Load(),
		BatchSteps: c.batchSteps.Load(), BatchesRefused: c.batchesRefused.Load(), TokensIssued: c.tokensIssued.Load(),
		TokensRefused: c.tokensRefused.Load(), Unauthorized: c.unauthorized.Load(), Forbidden: c.forbidden.Load(),
		Throttled: c.throttled.Load(), Injected429: c.injected429.Load(), Injected5xx: c.injected5xx.Load(),
		Refused: c.refused.Load(), Dropped: c.dropped.Load(), Truncated: c.truncated.Load(), NonJSON: c.nonJSON.Load(),
		ItemsMangled: c.itemsMangled.Load(), GzipBodies: c.gzipped.Load(), ReadUnits: c.readUnits.Load(),
		Writes: c.writes.Load(), WritesApplied: c.writesApplied.Load(), StateChanges: c.stateChanges.Load(),
		MethodsDeleted: c.methodsDeleted.Load(), SessionsRevoked: c.sessionsRevoked.Load(),
		InFlight: c.inFlight.Load(), MaxInFlight: c.maxInFlight.Load(),
	}
}
