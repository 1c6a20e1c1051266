package handlers

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
)

// listParams are the users page's URL parameters, validated: every bad value is replaced by the
// nearest valid one with a notice, so that a hand-edited or stale URL still shows a page. The
// export and "all matching users" read the same parameters and refuse what is wrong (problems).
// Neither says the bad value itself: no page shows text taken from its URL (SPEC §9).
type listParams struct {
	filter   mfa.UserFilter
	pageNum  int
	notices  []string // for the page: what is wrong and what is shown instead
	problems []string // for a refusal: what is wrong
}

// bad records a wrong parameter: problem says what is wrong, instead what the page shows.
func (p *listParams) bad(problem, instead string) {
	p.notices = append(p.notices, problem+"; "+instead+".")
	p.problems = append(p.problems, problem+".")
}

// linkProblem says which parameter of the link is wrong and what it may be, from a parse error
// ("unknown NAME %q: expected ...") without the value the link carried.
func linkProblem(err error) string {
	name := mfa.ErrorField(err)
	if _, expected, ok := strings.Cut(mfa.ErrorMessage(err), ": expected "); ok && name != "" {
		return "unknown " + name + " in the link: expected " + expected
	}
	return "a value in the link is not valid"
}

func parseListParams(q url.Values) listParams {
	var p listParams
	view, err := mfa.ParseView(q.Get("view"), mfa.ViewAllowed)
	if err != nil {
		p.bad(linkProblem(err), "showing "+mfa.ViewAllowed.Label())
		view = mfa.ViewAllowed
	}
	status, err := mfa.ParseStatusFilter(q.Get("status"))
	if err != nil {
		p.bad(linkProblem(err), "showing any status")
	}
	query := strings.TrimSpace(q.Get("q"))
	if r := []rune(query); len(r) > mfa.MaxQueryLen {
		query = string(r[:mfa.MaxQueryLen])
		p.bad(fmt.Sprintf("The search was longer than %d characters", mfa.MaxQueryLen), fmt.Sprintf("only the first %d are used", mfa.MaxQueryLen))
	}
	p.filter = mfa.UserFilter{View: view, Status: status, Query: query, Limit: mfa.DefaultLimit, After: q.Get("after"), Before: q.Get("before")}
	for _, c := range mfa.Choices {
		v, err := c.Parse(q.Get(c.Param))
		if err != nil {
			p.bad(linkProblem(err), "showing "+strings.ToLower(c.Options[0].Label))
		}
		c.Set(&p.filter, v)
	}
	if p.filter.Sort, err = mfa.ParseSortField(q.Get("sort")); err != nil {
		p.bad(linkProblem(err), "sorted by display name")
	}
	if p.filter.Order, err = mfa.ParseSortOrder(q.Get("order")); err != nil {
		p.bad(linkProblem(err), "in ascending order")
	}
	if s := q.Get("limit"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && slices.Contains(mfa.PageSizes, n) {
			p.filter.Limit = n
		} else {
			p.bad("The page size in the link is not offered: expected "+pageSizeList(), fmt.Sprintf("showing %d a page", mfa.DefaultLimit))
		}
	}
	p.pageNum = 1
	if s := q.Get("page"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 1 {
			p.pageNum = n
		}
	}
	if p.filter.After != "" && p.filter.Before != "" {
		p.filter.Before = ""
	}
	return p
}

// dropUnoffered removes, with a notice, the filters the directory does not offer (the coverage filter
// without Conditional Access), so that the page shows the nearest view.
func (p *listParams) dropUnoffered(caps mfa.Capabilities) {
	for _, c := range mfa.Choices {
		if c.Get(&p.filter) != "" && !c.Offered(caps) {
			c.Set(&p.filter, "")
			p.bad(fmt.Sprintf("The %s filter is not available with this directory", c.Label), "showing "+strings.ToLower(c.Options[0].Label))
		}
	}
}

func pageSizeList() string {
	s := make([]string, len(mfa.PageSizes))
	for i, n := range mfa.PageSizes {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// values are the filter's URL parameters without paging, in a stable order; the new filters,
// sort, order and page size only where they are not the default, so that the usual URLs stay short.
func (p listParams) values() url.Values {
	v := url.Values{}
	v.Set("view", string(p.filter.View))
	v.Set("status", p.filter.Status.String())
	for _, c := range mfa.Choices {
		if val := c.Get(&p.filter); val != "" {
			v.Set(c.Param, val)
		}
	}
	if p.filter.Query != "" {
		v.Set("q", p.filter.Query)
	}
	if p.filter.Sort != mfa.SortName {
		v.Set("sort", string(p.filter.Sort))
	}
	if p.filter.Order != mfa.OrderAsc {
		v.Set("order", string(p.filter.Order))
	}
	if p.filter.Limit != mfa.DefaultLimit {
		v.Set("limit", strconv.Itoa(p.filter.Limit))
	}
	return v
}

// sortURL is the first page of the list sorted by s: the other order when it is sorted by s
// already, ascending otherwise.
func (p listParams) sortURL(s mfa.SortField) string {
	q := p
	q.filter.Order = mfa.OrderAsc
	if p.filter.Sort == s && p.filter.Order == mfa.OrderAsc {
		q.filter.Order = mfa.OrderDesc
	}
	q.filter.Sort = s
	return listURL("/users", q.values())
}

func listURL(path string, v url.Values, extra ...string) string {
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	for i := 0; i+1 < len(extra); i += 2 {
		out.Set(extra[i], extra[i+1])
	}
	return path + "?" + out.Encode()
}
