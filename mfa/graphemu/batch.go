package graphemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// MaxBatchSteps is how many requests a $batch may carry.
const MaxBatchSteps = 20

type batchStep struct {
	ID        string          `json:"id"`
	Method    string          `json:"method"`
	URL       string          `json:"url"`
	Headers   map[string]any  `json:"headers"`
	Body      json.RawMessage `json:"body"`
	DependsOn []string        `json:"dependsOn"`
}

// serveBatch answers POST /{v}/$batch (concepts/json-batching.md). The batch is refused whole
// with 400 when it is malformed, has more than 20 requests, repeats an id, has a dependsOn that does
// not name an earlier request, or is neither fully parallel nor fully sequential; otherwise it is 200
// and each request has its own status. A sequential batch runs in order, and a request after a failed
// one gets 424; a parallel batch runs in an order of the emulator's choosing and its responses come
// back in another, as Graph allows ("Individual responses might appear in a different order").
func (s *Server) serveBatch(c *call) result {
	if c.method != http.MethodPost {
		return s.graphError(c, http.StatusMethodNotAllowed, "Request_BadRequest",
			"Specified HTTP method is not allowed for the request target.")
	}
	steps, sequential, refused := s.parseBatch(c)
	if refused != nil {
		s.stats.batchesRefused.Add(1)
		return *refused
	}
	s.stats.batchRequests.Add(1)
	s.stats.batchSteps.Add(int64(len(steps)))
	order := make([]int, len(steps))
	for i := range order {
		order[i] = i
	}
	if !sequential {
		s.rngMu.Lock()
		s.order.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		s.rngMu.Unlock()
	}
	responses := make([]obj, 0, len(steps))
	failed := ""
	for _, i := range order {
		st := steps[i]
		sub := s.stepCall(c, st)
		var res result
		if failed != "" {
			// "If an individual request fails, any request that depends on that request fails with
			// status code 424 (Failed Dependency)."
			res = s.graphError(sub, http.StatusFailedDependency, "FailedDependency",
				fmt.Sprintf("The request depends on request '%s', which failed.", failed))
		} else {
			res = s.runStep(sub, st)
		}
		if sequential && res.status >= 400 && failed == "" {
			failed = st.ID
		}
		if item, ok := s.batchItem(st.ID, res); ok {
			responses = append(responses, item)
		}
	}
	return jsonResult(http.StatusOK, obj{{"responses", responses}})
}

// batchItem is one entry of a $batch answer; ok is false when a fault leaves it out.
func (s *Server) batchItem(id string, res result) (obj, bool) {
	switch {
	case s.draw(func(f Faults) float64 { return f.RateMissingItem }):
		s.stats.itemsMangled.Add(1)
		return nil, false
	case s.draw(func(f Faults) float64 { return f.RateUnknownID }):
		s.stats.itemsMangled.Add(1)
		id += "-unknown"
	}
	headers := map[string]string{"Cache-Control": "no-cache"}
	for k, v := range res.header {
		headers[k] = v
	}
	item := obj{{"id", id}, {"status", res.status}}
	if res.body != nil {
		headers["Content-Type"] = jsonContentType
		headers["OData-Version"] = "4.0"
		return append(item, kv{"headers", headers}, kv{"body", json.RawMessage(res.body)}), true
	}
	return append(item, kv{"headers", headers}), true
}

// draw draws a fault of rate rate(f), whatever the call.
func (s *Server) draw(rate func(Faults) float64) bool {
	s.cfgMu.RLock()
	p := rate(s.faults)
	s.cfgMu.RUnlock()
	if p <= 0 {
		return false
	}
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64() < p
}

// parseBatch reads and checks a $batch body; refused is the 400 answer when the batch is refused
// whole. sequential reports a fully sequential batch (each request depends on the one before).
func (s *Server) parseBatch(c *call) (steps []batchStep, sequential bool, refused *result) {
	bad := func(msg string) ([]batchStep, bool, *result) {
		res := s.badRequest(c, msg)
		return nil, false, &res
	}
	var req struct {
		Requests []batchStep `json:"requests"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil || req.Requests == nil {
		return bad("Invalid batch payload format: a JSON object with a \"requests\" array is expected.")
	}
	steps = req.Requests
	switch {
	case len(steps) == 0:
		return bad("Invalid batch payload format: the \"requests\" array is empty.")
	case len(steps) > MaxBatchSteps:
		// "JSON batch requests are currently limited to 20 individual requests."
		return bad(fmt.Sprintf("The batch has %d requests: a batch may contain at most %d.", len(steps), MaxBatchSteps))
	}
	index := make(map[string]int, len(steps))
	for i, st := range steps {
		key := strings.ToLower(st.ID) // ids are "Not case-sensitive. Must be unique in the batch"
		switch {
		case st.ID == "":
			return bad(fmt.Sprintf("Invalid batch payload format: request %d has no id.", i+1))
		case st.Method == "":
			return bad(fmt.Sprintf("Invalid batch payload format: request '%s' has no method.", st.ID))
		case st.URL == "":
			return bad(fmt.Sprintf("Invalid batch payload format: request '%s' has no url.", st.ID))
		}
		if _, dup := index[key]; dup {
			return bad(fmt.Sprintf("Request id '%s' is used by more than one request in the batch: ids must be unique.", st.ID))
		}
		index[key] = i
	}
	// dependsOn may name only a request that comes before in the batch: Graph answers "Invalid
	// dependency for request Id ..." otherwise (msgraph-sdk-dotnet-core issue #891: "the API expects
	// that the dependency appears earlier in the array of requests"; msgraph-sdk-java-core issue #71).
	parallel, sequential := true, true
	for i, st := range steps {
		for _, dep := range st.DependsOn {
			if j, ok := index[strings.ToLower(dep)]; !ok || j >= i {
				return bad(fmt.Sprintf("Invalid dependency for request Id '%s': '%s' is not a request before it in the batch.", st.ID, dep))
			}
		}
		parallel = parallel && len(st.DependsOn) == 0
		if i == 0 {
			sequential = len(st.DependsOn) == 0
		} else {
			sequential = sequential && len(st.DependsOn) == 1 && strings.EqualFold(st.DependsOn[0], steps[i-1].ID)
		}
	}
	// json-batching.md: "Batch should be either fully sequential or fully parallel"; anything else is
	// refused whole (microsoft-graph-docs-contrib issue #2339, confirmed by the docs team, who fixed
	// the page's mixed example).
	if !parallel && !sequential {
		return bad("Batch should be either fully sequential or fully parallel")
	}
	return steps, !parallel, nil
}

// stepCall makes the call of a batch step, sharing the batch's caller and ids.
func (s *Server) stepCall(c *call, st batchStep) *call {
	h := http.Header{}
	for k, v := range st.Headers {
		h.Set(k, fmt.Sprint(v))
	}
	sub := &call{
		method: strings.ToUpper(st.Method), version: c.version, header: h, who: c.who, base: c.base,
		reqID: c.reqID, clientReqID: c.clientReqID, now: s.now(), query: url.Values{},
	}
	if u, err := url.Parse(st.URL); err == nil {
		sub.path = "/" + strings.TrimPrefix(u.Path, "/")
		sub.query = u.Query()
	} else {
		sub.path = st.URL
	}
	return sub
}

// runStep checks a step's URL and body, draws its injected faults and executes it.
func (s *Server) runStep(sub *call, st batchStep) result {
	u, err := url.Parse(st.URL)
	if err != nil {
		return s.badRequest(sub, fmt.Sprintf("Invalid request URL '%s'.", st.URL))
	}
	if u.IsAbs() || u.Host != "" {
		return s.badRequest(sub, fmt.Sprintf("Invalid request URL '%s': a batch request's url must be relative to the batch's version, e.g. /users/{id}.", st.URL))
	}
	if body := bytes.TrimSpace(st.Body); len(body) > 0 && !bytes.Equal(body, []byte("null")) {
		if sub.header.Get("Content-Type") == "" {
			return s.badRequest(sub, "A Content-Type header must be specified in the headers of a batch request that has a body.")
		}
		if body[0] == '"' { // a base64-encoded body
			var enc string
			_ = json.Unmarshal(body, &enc)
			dec, err := base64.StdEncoding.DecodeString(enc)
			if err != nil {
				dec, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "="))
			}
			if err != nil {
				return s.badRequest(sub, "The body of a batch request must be a JSON object or a base64-encoded string.")
			}
			body = dec
		}
		sub.body = body
	}
	if res, ok := s.injectFault(sub, false); ok {
		return res
	}
	return s.exec(sub)
}
