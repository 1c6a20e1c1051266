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

// serveBatch answers POST /{v}/$batch: the batch is refused as a whole (400) when malformed, has
// more than 20 steps, repeats an id or depends on an unknown step or in a cycle; otherwise it is 200
// and each step has its own status. Steps run in the order given, each after the steps it depends
// on; a step whose dependency failed gets 424.
func (s *Server) serveBatch(c *call) result {
	if c.method != http.MethodPost {
		return s.graphError(c, http.StatusMethodNotAllowed, "Request_BadRequest",
			"Specified HTTP method is not allowed for the request target.")
	}
	var req struct {
		Requests []batchStep `json:"requests"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil || req.Requests == nil {
		return s.badRequest(c, "Invalid batch payload format: a JSON object with a \"requests\" array is expected.")
	}
	steps := req.Requests
	switch {
	case len(steps) == 0:
		return s.badRequest(c, "Invalid batch payload format: the \"requests\" array is empty.")
	case len(steps) > MaxBatchSteps:
		return s.badRequest(c, fmt.Sprintf("The batch has %d requests: a batch may contain at most %d.", len(steps), MaxBatchSteps))
	}
	index := make(map[string]int, len(steps))
	for i, st := range steps {
		key := strings.ToLower(st.ID)
		switch {
		case st.ID == "":
			return s.badRequest(c, fmt.Sprintf("Invalid batch payload format: request %d has no id.", i+1))
		case st.Method == "":
			return s.badRequest(c, fmt.Sprintf("Invalid batch payload format: request '%s' has no method.", st.ID))
		case st.URL == "":
			return s.badRequest(c, fmt.Sprintf("Invalid batch payload format: request '%s' has no url.", st.ID))
		}
		if _, dup := index[key]; dup {
			return s.badRequest(c, fmt.Sprintf("Request id '%s' is used by more than one request in the batch: ids must be unique.", st.ID))
		}
		index[key] = i
	}
	for _, st := range steps {
		for _, dep := range st.DependsOn {
			if _, ok := index[strings.ToLower(dep)]; !ok || strings.EqualFold(dep, st.ID) {
				return s.badRequest(c, fmt.Sprintf("Request '%s' depends on '%s', which is not another request in the batch.", st.ID, dep))
			}
		}
	}
	// Reject cycles before running anything.
	const (
		unseen = iota
		visiting
		done
	)
	mark := make([]int, len(steps))
	var cyclic func(i int) bool
	cyclic = func(i int) bool {
		switch mark[i] {
		case visiting:
			return true
		case done:
			return false
		}
		mark[i] = visiting
		for _, dep := range steps[i].DependsOn {
			if cyclic(index[strings.ToLower(dep)]) {
				return true
			}
		}
		mark[i] = done
		return false
	}
	for i := range steps {
		if cyclic(i) {
			return s.badRequest(c, "The dependsOn properties of the batch requests form a cycle.")
		}
	}

	s.stats.batchRequests.Add(1)
	s.stats.batchSteps.Add(int64(len(steps)))
	results := make([]*result, len(steps))
	var run func(i int) *result
	run = func(i int) *result {
		if results[i] != nil {
			return results[i]
		}
		st := steps[i]
		var res result
		failed := ""
		for _, dep := range st.DependsOn {
			if r := run(index[strings.ToLower(dep)]); r.status >= 400 {
				failed = dep
				break
			}
		}
		sub := s.stepCall(c, st)
		if failed != "" {
			res = s.graphError(sub, http.StatusFailedDependency, "FailedDependency",
				fmt.Sprintf("The request depends on request '%s', which failed.", failed))
		} else {
			res = s.runStep(sub, st)
		}
		results[i] = &res
		return &res
	}
	responses := make([]obj, len(steps))
	for i := range steps {
		res := run(i)
		headers := map[string]string{"Cache-Control": "no-cache"}
		for k, v := range res.header {
			headers[k] = v
		}
		item := obj{{"id", steps[i].ID}, {"status", res.status}}
		if res.body != nil {
			headers["Content-Type"] = jsonContentType
			headers["OData-Version"] = "4.0"
			item = append(item, kv{"headers", headers}, kv{"body", json.RawMessage(res.body)})
		} else {
			item = append(item, kv{"headers", headers})
		}
		responses[i] = item
	}
	return jsonResult(http.StatusOK, obj{{"responses", responses}})
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
