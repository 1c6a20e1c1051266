package graphemu

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// userProps are the user properties the emulator knows, in the order Graph writes them.
var userProps = []string{
	"id", "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "accountEnabled",
	"createdDateTime", "userType",
}

// defaultUserProps are returned without $select (accountEnabled is not among them, as in Graph).
var defaultUserProps = map[string]bool{
	"id": true, "businessPhones": true, "displayName": true, "givenName": true, "jobTitle": true,
	"mail": true, "mobilePhone": true, "officeLocation": true, "preferredLanguage": true,
	"surname": true, "userPrincipalName": true,
}

// queryOpt reads an OData system query option, with or without its "$" (Graph accepts both).
func queryOpt(q url.Values, name string) (string, bool) {
	if v, ok := q["$"+name]; ok {
		return v[0], true
	}
	if v, ok := q[name]; ok {
		return v[0], true
	}
	return "", false
}

// selection parses $select into the set of properties to return (id always included) and the list
// as written, for @odata.context.
func (s *Server) selection(c *call) (map[string]bool, []string, *result) {
	raw, ok := queryOpt(c.query, "select")
	if !ok {
		return defaultUserProps, nil, nil
	}
	known := map[string]string{}
	for _, p := range userProps {
		known[strings.ToLower(p)] = p
	}
	sel := map[string]bool{"id": true}
	var list []string
	for _, p := range strings.Split(raw, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		name, ok := known[strings.ToLower(p)]
		if !ok {
			res := s.graphError(c, http.StatusBadRequest, "Request_BadRequest",
				fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.user'.", p))
			return nil, nil, &res
		}
		sel[name] = true
		list = append(list, name)
	}
	return sel, list, nil
}

func (s *Server) userJSON(u *user, sel map[string]bool) obj {
	o := make(obj, 0, len(sel))
	for _, p := range userProps {
		if !sel[p] {
			continue
		}
		var v any
		switch p {
		case "id":
			v = u.id
		case "businessPhones":
			v = []string{}
		case "displayName":
			v = u.displayName
		case "givenName":
			v = nameParts(u.displayName)[0]
		case "surname":
			v = nameParts(u.displayName)[1]
		case "mail", "userPrincipalName":
			v = u.upn
		case "preferredLanguage":
			v = "en-US"
		case "accountEnabled":
			v = u.accountEnabled
		case "createdDateTime":
			v = u.created.UTC().Format("2006-01-02T15:04:05Z")
		case "userType":
			v = "Member"
			if u.guest {
				v = "Guest"
			}
		}
		o = append(o, kv{p, v})
	}
	return o
}

func nameParts(display string) [2]any {
	first, last, ok := strings.Cut(display, " ")
	if !ok {
		return [2]any{display, nil}
	}
	return [2]any{first, last}
}

// pageSize reads $top: directory lists take 1 to 999 ("For most directory APIs, the limit is 999",
// microsoft-graph-docs issue #4372; concepts/query-parameters.md), anything else is refused with
// Request_UnsupportedQuery, the code Graph gives a query option it cannot apply.
func (s *Server) pageSize(c *call, t string) (int, *result) {
	n, err := strconv.Atoi(strings.TrimSpace(t))
	if err != nil || n < 1 || n > 999 {
		res := s.graphError(c, http.StatusBadRequest, "Request_UnsupportedQuery",
			fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", t))
		return 0, &res
	}
	return n, nil
}

// listUsersCost is the documented cost of GET /users: 2, less 1 with $select, less 1 with a $top
// under 20, never below 1.
func listUsersCost(c *call) int {
	cost := 2
	if _, ok := queryOpt(c.query, "select"); ok {
		cost--
	}
	if t, ok := queryOpt(c.query, "top"); ok {
		if n, err := strconv.Atoi(t); err == nil && n < 20 {
			cost--
		}
	}
	return max(cost, 1)
}

// userFilter is a parsed $filter: only accountEnabled eq|ne true|false is supported.
type userFilter struct {
	set   bool
	value bool
}

func (f userFilter) match(u *user) bool { return !f.set || u.accountEnabled == f.value }

func (s *Server) parseFilter(c *call) (userFilter, *result) {
	raw, ok := queryOpt(c.query, "filter")
	if !ok || strings.TrimSpace(raw) == "" {
		return userFilter{}, nil
	}
	f := strings.Fields(raw)
	if len(f) == 3 && strings.EqualFold(f[0], "accountEnabled") {
		op, val := strings.ToLower(f[1]), strings.ToLower(f[2])
		if (op == "eq" || op == "ne") && (val == "true" || val == "false") {
			v := val == "true"
			if op == "ne" {
				v = !v
			}
			return userFilter{set: true, value: v}, nil
		}
	}
	prop := "unknown"
	if len(f) > 0 {
		prop = strings.TrimLeft(f[0], "(")
	}
	res := s.graphError(c, http.StatusBadRequest, "Request_UnsupportedQuery",
		fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource 'User'. The emulator supports only accountEnabled eq true|false.", prop))
	return userFilter{}, &res
}

func encodeSkipToken(seq uint64) string {
	var b [9]byte
	b[0] = 'u'
	binary.BigEndian.PutUint64(b[1:], seq)
	return "RFNwdAIA" + base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeSkipToken(t string) (uint64, bool) {
	rest, ok := strings.CutPrefix(t, "RFNwdAIA")
	if !ok {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) != 9 || b[0] != 'u' {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[1:]), true
}

// listUsers answers GET /users: a page of at most $top users after $skiptoken, with an absolute
// @odata.nextLink while more remain.
func (s *Server) listUsers(c *call) result {
	for _, unsupported := range []string{"expand", "orderby", "search", "skip"} {
		if _, ok := queryOpt(c.query, unsupported); ok {
			return s.graphError(c, http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("The query option '$%s' is not supported by the emulator on users.", unsupported))
		}
	}
	sel, selList, errRes := s.selection(c)
	if errRes != nil {
		return *errRes
	}
	filter, errRes := s.parseFilter(c)
	if errRes != nil {
		return *errRes
	}
	top := 100
	if t, ok := queryOpt(c.query, "top"); ok {
		n, errRes := s.pageSize(c, t)
		if errRes != nil {
			return *errRes
		}
		top = n
	}
	count := false
	if v, ok := queryOpt(c.query, "count"); ok {
		switch strings.ToLower(v) {
		case "true":
			if !strings.EqualFold(c.header.Get("ConsistencyLevel"), "eventual") {
				return s.graphError(c, http.StatusBadRequest, "Request_BadRequest",
					"$count is not currently supported without the header ConsistencyLevel: eventual.")
			}
			count = true
		case "false":
		default:
			return s.badRequest(c, fmt.Sprintf("Invalid value '%s' for $count: expected true or false.", v))
		}
	}
	var after uint64
	if t, ok := queryOpt(c.query, "skiptoken"); ok {
		seq, ok := decodeSkipToken(t)
		if !ok {
			return s.graphError(c, http.StatusBadRequest, "Request_BadRequest", "Invalid skip token.")
		}
		after = seq
	}

	d := &s.dir
	d.mu.RLock()
	values := make([]any, 0, min(top, len(d.users)))
	i := d.indexAfter(after)
	var last uint64
	for ; i < len(d.users) && len(values) < top; i++ {
		u := d.users[i]
		if filter.match(u) {
			values = append(values, s.userJSON(u, sel))
			last = u.seq
		}
	}
	more := false
	for ; i < len(d.users); i++ { // is there another match? (cheap when unfiltered)
		if filter.match(d.users[i]) {
			more = true
			break
		}
	}
	total := len(d.users)
	if filter.set {
		total = d.enabled
		if !filter.value {
			total = len(d.users) - d.enabled
		}
	}
	d.mu.RUnlock()

	ctx := c.base + "/" + c.version + "/$metadata#users"
	if selList != nil {
		ctx += "(" + strings.Join(selList, ",") + ")"
	}
	out := obj{{"@odata.context", ctx}}
	if count {
		out = append(out, kv{"@odata.count", total})
	}
	if more {
		q := url.Values{}
		for k, v := range c.query {
			if strings.EqualFold(strings.TrimPrefix(k, "$"), "skiptoken") {
				continue
			}
			q[k] = v
		}
		if _, ok := queryOpt(q, "top"); !ok {
			q.Set("$top", strconv.Itoa(top))
		}
		q.Set("$skiptoken", encodeSkipToken(last))
		out = append(out, kv{"@odata.nextLink", c.base + "/" + c.version + "/users?" + encodeODataQuery(q)})
	}
	out = append(out, kv{"value", values})
	return jsonResult(http.StatusOK, out)
}

// encodeODataQuery encodes a query keeping "$" and "," readable, as Graph's links do.
func encodeODataQuery(q url.Values) string {
	return strings.NewReplacer("%24", "$", "%2C", ",", "+", "%20").Replace(q.Encode())
}

// getUser answers GET /users/{id | userPrincipalName}.
func (s *Server) getUser(c *call) result {
	sel, selList, errRes := s.selection(c)
	if errRes != nil {
		return *errRes
	}
	s.dir.mu.RLock()
	u := s.dir.lookup(c.segs[1])
	var o obj
	if u != nil {
		o = s.userJSON(u, sel)
	}
	s.dir.mu.RUnlock()
	if u == nil {
		return s.notFoundUser(c, c.segs[1])
	}
	ctx := c.base + "/" + c.version + "/$metadata#users"
	if selList != nil {
		ctx += "(" + strings.Join(selList, ",") + ")"
	}
	return jsonResult(http.StatusOK, append(obj{{"@odata.context", ctx + "/$entity"}}, o...))
}

// revokeSessions answers POST /users/{id}/revokeSignInSessions.
func (s *Server) revokeSessions(c *call) result {
	s.dir.mu.Lock()
	u := s.dir.lookup(c.segs[1])
	if u != nil {
		u.revokedAt = c.now
	}
	s.dir.mu.Unlock()
	if u == nil {
		return s.notFoundUser(c, c.segs[1])
	}
	s.stats.sessionsRevoked.Add(1)
	return jsonResult(http.StatusOK, obj{
		{"@odata.context", c.base + "/" + c.version + "/$metadata#Edm.Boolean"},
		{"value", true},
	})
}
