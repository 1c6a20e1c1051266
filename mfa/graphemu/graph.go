package graphemu

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// jsonContentType is what Graph answers JSON with.
const jsonContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// call is one Graph operation: a top-level request or a $batch step.
type call struct {
	method      string
	version     string // "v1.0" or "beta"
	path        string // relative to the version, starting with "/"
	segs        []string
	query       url.Values
	header      http.Header
	body        []byte
	who         principal
	base        string // scheme://host of this server as the client sees it
	reqID       string
	clientReqID string
	now         time.Time
}

// result is the answer to a call.
type result struct {
	status int
	header map[string]string
	body   []byte // JSON, nil for none
}

// obj is a JSON object that keeps its keys in order, as Graph writes @odata.context first.
type obj []kv

type kv struct {
	k string
	v any
}

// MarshalJSON writes the fields in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func jsonResult(status int, v any) result {
	b, err := json.Marshal(v)
	if err != nil {
		panic("graphemu: " + err.Error())
	}
	return result{status: status, header: map[string]string{}, body: b}
}

func noContent() result { return result{status: http.StatusNoContent, header: map[string]string{}} }

// graphError builds Graph's error shape with innerError.
func (s *Server) graphError(c *call, status int, code, msg string) result {
	client := c.clientReqID
	if client == "" {
		client = c.reqID
	}
	return jsonResult(status, obj{{"error", obj{
		{"code", code},
		{"message", msg},
		{"innerError", obj{
			{"date", c.now.UTC().Format("2006-01-02T15:04:05")},
			{"request-id", c.reqID},
			{"client-request-id", client},
		}},
	}}})
}

// graphErrorInner is graphError with the message repeated in innerError, as the authentication
// methods service answers (microsoft-graph-docs issues #14470 and #18091).
func (s *Server) graphErrorInner(c *call, status int, code, msg string) result {
	client := c.clientReqID
	if client == "" {
		client = c.reqID
	}
	return jsonResult(status, obj{{"error", obj{
		{"code", code},
		{"message", msg},
		{"innerError", obj{
			{"message", msg},
			{"date", c.now.UTC().Format("2006-01-02T15:04:05")},
			{"request-id", c.reqID},
			{"client-request-id", client},
		}},
	}}})
}

// throttled is a 429 answer as Graph's throttling guidance shows it (concepts/throttling.md, "Sample
// response": code TooManyRequests, innerError code and status "429", Retry-After in seconds).
func (s *Server) throttled(c *call, wait time.Duration) result {
	client := c.clientReqID
	if client == "" {
		client = c.reqID
	}
	res := jsonResult(http.StatusTooManyRequests, obj{{"error", obj{
		{"code", "TooManyRequests"},
		{"message", "Please retry again later."},
		{"innerError", obj{
			{"code", "429"},
			{"date", c.now.UTC().Format("2006-01-02T15:04:05")},
			{"message", "Please retry after"},
			{"request-id", c.reqID},
			{"client-request-id", client},
			{"status", "429"},
		}},
	}}})
	retryAfterHeader(res.header, wait)
	return res
}

func (s *Server) notFoundUser(c *call, id string) result {
	return s.graphError(c, http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

func (s *Server) badRequest(c *call, msg string) result {
	return s.graphError(c, http.StatusBadRequest, "BadRequest", msg)
}

// readBody reads a request body, gunzipping it when Content-Encoding says gzip (the Graph SDK
// compresses request bodies by default).
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	var rd io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(io.LimitReader(r.Body, limit))
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			return nil, fmt.Errorf("body is not valid gzip: %w", err)
		}
		defer zr.Close()
		rd = zr
	default:
		return nil, errUnsupportedEncoding
	}
	b, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

var (
	errUnsupportedEncoding = errors.New("unsupported Content-Encoding")
	errTooLarge            = errors.New("request body too large")
)

// serveGraph answers a top-level Graph request.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	version, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	c := &call{
		method: r.Method, version: version, path: "/" + rest, query: r.URL.Query(), header: r.Header,
		base: s.base(r), reqID: newGUID(), clientReqID: r.Header.Get("client-request-id"), now: s.now(),
	}
	who, msg := s.authenticate(r)
	if msg != "" {
		s.stats.unauthorized.Add(1)
		res := s.graphError(c, http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
		res.header["WWW-Authenticate"] = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="` + GraphAppID + `"`
		s.writeResult(w, c, res, false)
		return
	}
	c.who = who
	if res, ok := s.injectFault(c, true); ok {
		if res.status == 0 { // drop the connection
			s.stats.dropped.Add(1)
			panic(http.ErrAbortHandler)
		}
		s.writeResult(w, c, res, false)
		return
	}
	limit := int64(1 << 20)
	isBatch := strings.EqualFold(rest, "$batch")
	if isBatch {
		limit = 4 << 20
	}
	body, err := readBody(r, limit)
	if gz := strings.ToLower(r.Header.Get("Content-Encoding")); err == nil && len(body) > 0 && strings.Contains(gz, "gzip") {
		s.stats.gzipped.Add(1)
	}
	switch {
	case errors.Is(err, errUnsupportedEncoding):
		s.writeResult(w, c, s.graphError(c, http.StatusUnsupportedMediaType, "UnsupportedMediaType",
			"Content-Encoding "+r.Header.Get("Content-Encoding")+" is not supported."), false)
		return
	case errors.Is(err, errTooLarge):
		s.writeResult(w, c, s.graphError(c, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"The request body is too large."), false)
		return
	case err != nil:
		s.writeResult(w, c, s.badRequest(c, "The request body could not be read: "+err.Error()), false)
		return
	}
	c.body = body
	var res result
	if isBatch {
		res = s.serveBatch(c)
	} else {
		res = s.exec(c)
	}
	if res.body != nil && s.roll(c, func(f Faults) float64 { return f.RateNonJSON }) {
		s.stats.nonJSON.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<html><head><title>Service</title></head><body><h1>Please wait</h1></body></html>"))
		return
	}
	s.writeResult(w, c, res, res.status < 300 && res.body != nil && s.roll(c, func(f Faults) float64 { return f.RateTruncate }))
}

// writeResult sends a result with Graph's standard headers; truncate cuts the body in half.
func (s *Server) writeResult(w http.ResponseWriter, c *call, res result, truncate bool) {
	h := w.Header()
	client := c.clientReqID
	if client == "" {
		client = c.reqID
	}
	h.Set("request-id", c.reqID)
	h.Set("client-request-id", client)
	h.Set("Cache-Control", "no-cache")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	for k, v := range res.header {
		h.Set(k, v)
	}
	if res.body != nil {
		h.Set("Content-Type", jsonContentType)
		h.Set("OData-Version", "4.0")
	}
	body := res.body
	if truncate {
		s.stats.truncated.Add(1)
		body = body[:len(body)/2]
	} else if body != nil {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(res.status)
	if body != nil {
		_, _ = w.Write(body)
	}
}

// roll draws a fault of the rate rate(f) for the call; false when faults do not apply to it.
func (s *Server) roll(c *call, rate func(Faults) float64) bool {
	s.cfgMu.RLock()
	f := s.faults
	s.cfgMu.RUnlock()
	p := rate(f)
	if p <= 0 || (f.Match != nil && !f.Match(c.method, c.path)) {
		return false
	}
	s.rngMu.Lock()
	x := s.rng.Float64()
	s.rngMu.Unlock()
	return x < p
}

// injectFault draws the injected failures for a call. A result with status 0 means "drop the
// connection" (top-level calls only).
func (s *Server) injectFault(c *call, topLevel bool) (result, bool) {
	s.cfgMu.RLock()
	f := s.faults
	s.cfgMu.RUnlock()
	if f.Refuse != nil && f.Refuse(c.method, c.path) {
		s.stats.refused.Add(1)
		return s.graphError(c, http.StatusBadRequest, "Request_BadRequest", InjectedRefusalMessage), true
	}
	if f.Rate429 <= 0 && f.Rate5xx <= 0 && (f.RateDrop <= 0 || !topLevel) {
		return result{}, false
	}
	if f.Match != nil && !f.Match(c.method, c.path) {
		return result{}, false
	}
	s.rngMu.Lock()
	x := s.rng.Float64()
	pick := s.rng.IntN(1 << 30)
	s.rngMu.Unlock()
	wait := max(f.RetryAfter, time.Second)
	announce := func(res result) result {
		if f.RetryAfterValue != "" {
			res.header["Retry-After"] = f.RetryAfterValue
		}
		return res
	}
	drop := 0.0
	if topLevel {
		drop = f.RateDrop
	}
	switch {
	case x < drop:
		return result{status: 0}, true
	case x < drop+f.Rate429:
		s.stats.injected429.Add(1)
		return announce(s.throttled(c, wait)), true
	case x < drop+f.Rate429+f.Rate5xx:
		s.stats.injected5xx.Add(1)
		codes := f.Codes5xx
		if len(codes) == 0 {
			codes = []int{500, 502, 503, 504}
		}
		status := codes[pick%len(codes)]
		code := map[int]string{500: "InternalServerError", 502: "BadGateway", 503: "ServiceNotAvailable", 504: "GatewayTimeout"}[status]
		if code == "" {
			code = "UnknownError"
		}
		res := s.graphError(c, status, code, "The service is temporarily unavailable (injected fault).")
		if status == http.StatusServiceUnavailable {
			retryAfterHeader(res.header, wait)
			res = announce(res)
		}
		return res, true
	}
	return result{}, false
}

// exec routes, authorizes, meters and runs one call.
func (s *Server) exec(c *call) result {
	s.stats.graphCalls.Add(1)
	c.segs = splitPath(c.path)
	rt, res, ok := s.route(c)
	if !ok {
		return res
	}
	if !s.granted(rt.roles) {
		s.stats.forbidden.Add(1)
		return s.graphError(c, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	}
	units := rt.cost
	if rt.costFn != nil {
		units = rt.costFn(c)
	}
	ch := s.quotas.take(c.who.AppID, c.who.Tenant, s.UserCount(), units, rt.write, c.now)
	if !ch.ok {
		s.stats.throttled.Add(1)
		res := s.throttled(c, ch.retry)
		// <Scope>/<Limit>/<ApplicationId>/<TenantId> (throttling-limits.md, "Throttled responses").
		res.header["x-ms-throttle-scope"] = ch.scope + "/" + c.who.AppID + "/" + c.who.Tenant
		res.header["x-ms-throttle-information"] = ch.info
		return res
	}
	s.stats.readUnits.Add(int64(units))
	if rt.write {
		s.stats.writes.Add(1)
	}
	res = rt.handle(c)
	res.header["x-ms-resource-unit"] = strconv.Itoa(units)
	if ch.usedPct >= 0.8 {
		res.header["x-ms-throttle-limit-percentage"] = strconv.FormatFloat(min(ch.usedPct, 1.8), 'f', 1, 64)
	}
	if rt.write && res.status < 300 {
		s.stats.writesApplied.Add(1)
	}
	return res
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// route is one endpoint: the permissions that allow it, its cost, and its handler.
type route struct {
	roles  []string
	cost   int
	costFn func(*call) int
	write  bool
	handle func(*call) result
}

var (
	rolesUserRead   = []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	rolesRevoke     = []string{"User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}
	rolesMethodRead = []string{"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"}
	rolesMethodRW   = []string{"UserAuthenticationMethod.ReadWrite.All"}
	rolesReqRead    = []string{"Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"}
	rolesReqWrite   = []string{"Policy.ReadWrite.AuthenticationMethod"}
	rolesPolicyRead = []string{"Policy.Read.All", "Policy.Read.AuthenticationMethod", "Policy.ReadWrite.AuthenticationMethod"}
)

// route finds the endpoint for a call, or the error Graph gives for an unknown segment or method.
func (s *Server) route(c *call) (route, result, bool) {
	segs := c.segs
	seg := func(i int) string {
		if i < len(segs) {
			return strings.ToLower(segs[i])
		}
		return ""
	}
	notAllowed := func() (route, result, bool) {
		return route{}, s.graphError(c, http.StatusMethodNotAllowed, "Request_BadRequest",
			"Specified HTTP method is not allowed for the request target."), false
	}
	unknown := func(i int) (route, result, bool) {
		name := ""
		if i < len(segs) {
			name = segs[i]
		}
		return route{}, s.badRequest(c, fmt.Sprintf("Resource not found for the segment '%s'.", name)), false
	}
	is := func(methods ...string) bool {
		for _, m := range methods {
			if c.method == m {
				return true
			}
		}
		return false
	}
	write := func(r route) route { r.write, r.cost = true, 1; return r }
	if rt, ok := s.routeConditional(c, seg); ok { // conditional.go
		if !is(http.MethodGet) {
			return notAllowed()
		}
		return rt, result{}, true
	}
	switch seg(0) {
	case "me":
		return route{}, s.badRequest(c, "/me request is only valid with delegated authentication flow."), false
	case "users":
		switch {
		case len(segs) == 1:
			if !is(http.MethodGet) {
				return notAllowed()
			}
			return route{roles: rolesUserRead, costFn: listUsersCost, handle: s.listUsers}, result{}, true
		case len(segs) == 2:
			if !is(http.MethodGet) {
				return notAllowed()
			}
			return route{roles: rolesUserRead, cost: 1, handle: s.getUser}, result{}, true
		case seg(2) == "revokesigninsessions" && len(segs) == 3:
			if !is(http.MethodPost) {
				return notAllowed()
			}
			return write(route{roles: rolesRevoke, handle: s.revokeSessions}), result{}, true
		case seg(2) == "authentication" && len(segs) >= 4:
			return s.routeAuthentication(c, seg, is, notAllowed, unknown, write)
		}
		return unknown(min(2, len(segs)-1))
	case "policies":
		if seg(1) != "authenticationmethodspolicy" {
			return unknown(1)
		}
		switch {
		case len(segs) == 2:
			switch c.method {
			case http.MethodGet:
				return route{roles: rolesPolicyRead, cost: 1, handle: s.getPolicy}, result{}, true
			case http.MethodPatch:
				return write(route{roles: rolesReqWrite, handle: s.patchPolicy}), result{}, true
			}
			return notAllowed()
		case seg(2) == "authenticationmethodconfigurations" && len(segs) == 3:
			if !is(http.MethodGet) {
				return notAllowed()
			}
			return route{roles: rolesPolicyRead, cost: 1, handle: s.listConfigurations}, result{}, true
		case seg(2) == "authenticationmethodconfigurations" && len(segs) == 4:
			switch c.method {
			case http.MethodGet:
				return route{roles: rolesPolicyRead, cost: 1, handle: s.getConfiguration}, result{}, true
			case http.MethodPatch:
				return write(route{roles: rolesReqWrite, handle: s.patchConfiguration}), result{}, true
			}
			return notAllowed()
		}
		return unknown(2)
	case "directoryroles":
		switch {
		case len(segs) == 1:
			if !is(http.MethodGet) {
				return notAllowed()
			}
			return route{roles: rolesRead, cost: 1, handle: s.listDirectoryRoles}, result{}, true
		case len(segs) == 2:
			if !is(http.MethodGet) {
				return notAllowed()
			}
			return route{roles: rolesRead, cost: 1, handle: s.getDirectoryRole}, result{}, true
		case len(segs) == 3 && seg(2) == "members":
			if !is(http.MethodGet) {
				return notAllowed()
			}
			return route{roles: rolesRead, cost: 1, handle: s.listRoleMembers}, result{}, true
		}
		return unknown(min(2, len(segs)-1))
	case "$batch":
		return route{}, s.badRequest(c, "A $batch request cannot be nested inside a batch."), false
	}
	return unknown(0)
}

func (s *Server) routeAuthentication(c *call, seg func(int) string, is func(...string) bool,
	notAllowed func() (route, result, bool), unknown func(int) (route, result, bool), write func(route) route) (route, result, bool) {
	n := len(c.segs)
	switch s3 := seg(3); s3 {
	case "requirements", "signinpreferences":
		if n != 4 {
			return unknown(4)
		}
		if c.version != "beta" {
			return unknown(3)
		}
		get, patch := s.getRequirements, s.patchRequirements
		rr, rw := rolesReqRead, rolesReqWrite
		if s3 == "signinpreferences" {
			get, patch = s.getSignInPreferences, s.patchSignInPreferences
			rr, rw = rolesMethodRead, rolesMethodRW
		}
		switch c.method {
		case http.MethodGet:
			return route{roles: rr, cost: 1, handle: get}, result{}, true
		case http.MethodPatch:
			return write(route{roles: rw, handle: patch}), result{}, true
		}
		return notAllowed()
	case "methods":
		if n > 5 {
			return unknown(5)
		}
		if !is(http.MethodGet) {
			return notAllowed()
		}
		if n == 4 {
			return route{roles: rolesMethodRead, cost: 1, handle: s.listMethods}, result{}, true
		}
		return route{roles: rolesMethodRead, cost: 1, handle: s.getMethod}, result{}, true
	case segPhone, segAuthApp, segSoftOath, segHardOath, segFido2, segEmail, segPassword:
		if s3 == segHardOath && c.version != "beta" {
			return unknown(3) // hardware OATH tokens are beta only (authenticationmethods-overview.md, v1.0)
		}
		if n > 5 {
			return unknown(5)
		}
		if n == 4 {
			if !is(http.MethodGet) {
				return notAllowed()
			}
			return route{roles: rolesMethodRead, cost: 1, handle: s.listMethods}, result{}, true
		}
		switch c.method {
		case http.MethodGet:
			return route{roles: rolesMethodRead, cost: 1, handle: s.getMethod}, result{}, true
		case http.MethodDelete:
			return write(route{roles: rolesMethodRW, handle: s.deleteMethod}), result{}, true
		}
		return notAllowed()
	}
	return unknown(3)
}
