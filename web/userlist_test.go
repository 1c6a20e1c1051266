package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mfaportal/mfaportal/mfa"
)

// apiList is GET /api/v1/users's answer, as the tests read it.
type apiList struct {
	Users []struct {
		UserPrincipalName string       `json:"userPrincipalName"`
		DisplayName       string       `json:"displayName"`
		Privileged        bool         `json:"privileged"`
		PerUserMfaState   string       `json:"perUserMfaState"`
		Methods           []mfa.Method `json:"methods"`
	} `json:"users"`
	Total      int     `json:"total"`
	NextCursor *string `json:"nextCursor"`
}

// apiList lists users through the API; the body is also decoded into each of also (an error, say).
func (e *testEnv) apiList(c *http.Client, query string, also ...any) (apiList, int) {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + "/api/v1/users?" + query)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var l apiList
	json.Unmarshal(body, &l)
	for _, v := range also {
		json.Unmarshal(body, v)
	}
	return l, resp.StatusCode
}

// The API filters on admins and methods and sorts by user name or status, both ways, paging by
// cursor; the demo tenant's users are checked one by one.
func TestAPIUsersFiltersAndSorts(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	demo := map[string]mfa.User{}
	for u := range mfa.DemoUsers(250) {
		demo[u.UPN] = u
	}
	demo["xss@contoso.com"] = mfa.User{UPN: "xss@contoso.com", AccountEnabled: true, State: mfa.StateEnabled} // newTestEnv's
	for _, tc := range []struct {
		query string
		ok    func(mfa.User) bool
	}{
		{"privileged=true", func(u mfa.User) bool { return u.Privileged }},
		{"privileged=false&methods=none", func(u mfa.User) bool { return !u.Privileged && len(u.Methods) == 0 }},
		{"methods=phone-only&view=allowed", func(u mfa.User) bool {
			return u.AccountEnabled && mfa.ClassifyMethods(u.Methods) == mfa.MethodsClassPhoneOnly
		}},
		{"methods=PHONE-ONLY&status=enforced&sort=upn&order=desc", func(u mfa.User) bool {
			return u.State == mfa.StateEnforced && mfa.ClassifyMethods(u.Methods) == mfa.MethodsClassPhoneOnly
		}},
	} {
		want := 0
		for _, u := range demo {
			if tc.ok(u) {
				want++
			}
		}
		var got []string
		cursor := ""
		for {
			l, code := e.apiList(c, tc.query+"&limit=7&cursor="+url.QueryEscape(cursor))
			if code != 200 || l.Total != want {
				t.Fatalf("%s: %d, total %d, want %d", tc.query, code, l.Total, want)
			}
			for _, u := range l.Users {
				if d, ok := demo[u.UserPrincipalName]; !ok || !tc.ok(d) {
					t.Errorf("%s: %s does not match", tc.query, u.UserPrincipalName)
				}
				got = append(got, strings.ToLower(u.UserPrincipalName))
			}
			if l.NextCursor == nil {
				break
			}
			cursor = *l.NextCursor
		}
		if len(got) != want || want == 0 {
			t.Errorf("%s: paged %d users, want %d", tc.query, len(got), want)
		}
		if strings.Contains(tc.query, "sort=upn&order=desc") && !slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(b, a) }) {
			t.Errorf("%s: not in descending user-name order: %v", tc.query, got)
		}
	}
	// By status, descending: Enforced, then Enabled, then Disabled.
	l, _ := e.apiList(c, "sort=status&order=desc&limit=1000")
	var states []string
	for _, u := range l.Users {
		if len(states) == 0 || states[len(states)-1] != u.PerUserMfaState {
			states = append(states, u.PerUserMfaState)
		}
	}
	if !slices.Equal(states, []string{"enforced", "enabled", "disabled"}) {
		t.Errorf("sort=status&order=desc: states in the order %v", states)
	}
	// Bad values: 400 naming the parameter; a cursor of another sort is refused.
	first, _ := e.apiList(c, "limit=5")
	for query, field := range map[string]string{
		"privileged=maybe": "privileged",
		"methods=sms":      "methods",
		"sort=email":       "sort",
		"order=up":         "order",
		"sort=upn&cursor=" + url.QueryEscape(*first.NextCursor): "cursor",
	} {
		var body struct{ Error, Field string }
		l, code := e.apiList(c, query, &body)
		if code != 400 || body.Field != field || body.Error == "" || l.Users != nil {
			t.Errorf("%s: %d %+v", query, code, body)
		}
	}
}

// The users page: the new filters and the page size are selects of the filter bar, the headings
// sort (aria-sort on the sorted one), and every link (paging, sorting, export) keeps them.
func TestUsersPageFiltersSortAndPageSize(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	_, doc := e.get(c, "/users?view=all&methods=none&limit=25&sort=upn&order=desc")
	for id, want := range map[string]string{"privileged": "Any", "methods": "No registered methods", "limit": "25"} {
		if got := doc.Find("#" + id + " option[selected]").Text(); got != want {
			t.Errorf("select %s shows %q, want %q", id, got, want)
		}
	}
	if got := doc.Find("label[for=privileged]").Text(); got != "Admins" {
		t.Errorf("label %q", got)
	}
	opts := doc.Find("#privileged option").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	if !slices.Equal(opts, []string{"Any", "Admins", "Not admins"}) {
		t.Errorf("admins options %q", opts)
	}
	opts = doc.Find("#methods option").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	if !slices.Equal(opts, []string{"Any", "No registered methods", "Phone only"}) {
		t.Errorf("methods options %q", opts)
	}
	if n := doc.Find("table.users tbody tr").Length(); n != 25 {
		t.Errorf("%d rows, want 25", n)
	}
	sorted := doc.Find("table.users th[aria-sort]")
	if sorted.Length() != 1 || sorted.Text() != "USER NAME" || sorted.AttrOr("aria-sort", "") != "descending" {
		t.Errorf("aria-sort on %q = %q", sorted.Text(), sorted.AttrOr("aria-sort", ""))
	}
	var upns []string
	doc.Find("table.users tbody tr td:nth-child(3)").Each(func(_ int, s *goquery.Selection) { upns = append(upns, strings.ToLower(s.Text())) })
	if !slices.IsSortedFunc(upns, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("not in descending user-name order: %v", upns)
	}
	// The filter form keeps the sort; the headings sort by their column, the sorted one the other way.
	if doc.Find("form.filters input[name=sort]").AttrOr("value", "") != "upn" || doc.Find("form.filters input[name=order]").AttrOr("value", "") != "desc" {
		t.Error("the filter form does not keep the sort")
	}
	heads := map[string]url.Values{}
	doc.Find("table.users th a.sort").Each(func(_ int, s *goquery.Selection) {
		u, _ := url.Parse(s.AttrOr("href", ""))
		heads[s.Text()] = u.Query()
	})
	if h := heads["USER NAME"]; h.Get("sort") != "upn" || h.Get("order") != "" || h.Get("methods") != "none" || h.Get("limit") != "25" {
		t.Errorf("USER NAME heading: %v", h)
	}
	if h := heads["MULTI-FACTOR AUTH STATUS"]; h.Get("sort") != "status" || h.Get("order") != "" {
		t.Errorf("status heading: %v", h)
	}
	if h := heads["DISPLAY NAME"]; h.Get("sort") != "" || h.Get("after") != "" {
		t.Errorf("display name heading: %v", h)
	}
	// Paging keeps everything; page 2 of 25 a page.
	next, _ := doc.Find("a[rel=next]").Attr("href")
	nu, _ := url.Parse(next)
	if q := nu.Query(); q.Get("methods") != "none" || q.Get("limit") != "25" || q.Get("sort") != "upn" || q.Get("order") != "desc" {
		t.Errorf("next link %s", next)
	}
	_, doc2 := e.get(c, next)
	if got := doc2.Find("table.users tbody tr td:nth-child(3)").First().Text(); strings.ToLower(got) >= upns[len(upns)-1] {
		t.Errorf("page 2 starts at %q after %q", got, upns[len(upns)-1])
	}
	if !strings.Contains(doc2.Find("#summary").Text(), "page 2 of") {
		t.Errorf("summary %q", doc2.Find("#summary").Text())
	}
	// The export carries the filters and the sort: the users without methods, by user name descending.
	export, _ := doc.Find("form.filters a[href^='/users/export']").Attr("href")
	resp, err := c.Get(e.srv.URL + export)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	l, _ := e.apiList(c, "methods=none")
	if len(rows)-1 != l.Total {
		t.Errorf("export has %d users, want %d", len(rows)-1, l.Total)
	}
	for _, r := range rows[1:] {
		if r[5] != "" {
			t.Errorf("exported %s with methods %q", r[0], r[5])
		}
	}
	if strings.ToLower(rows[1][0]) != upns[0] {
		t.Errorf("export starts with %s, the page with %s", rows[1][0], upns[0])
	}
}

// Unknown values on the page give the nearest valid view with a notice, never an error.
func TestUsersPageBadListParams(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleReader)
	_, doc := e.get(c, "/users?limit=25&sort=upn")
	next, _ := doc.Find("a[rel=next]").Attr("href")
	nu, _ := url.Parse(next)
	otherSort := "/users?sort=status&after=" + url.QueryEscape(nu.Query().Get("after"))
	for path, notice := range map[string]string{
		"/users?privileged=maybe": "unknown privileged",
		"/users?methods=sms":      "unknown methods",
		"/users?sort=email":       "unknown sort",
		"/users?order=up":         "unknown order",
		"/users?limit=7":          "The page size in the link is not offered",
		"/users?limit=1000":       "expected 25, 50, 100 or 250",
		otherSort:                 "no longer valid",
	} {
		resp, doc := e.get(c, path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
			continue
		}
		if !strings.Contains(doc.Find(".notice").Text(), notice) {
			t.Errorf("%s: notice %q, want %q", path, doc.Find(".notice").Text(), notice)
		}
		if n := doc.Find("table.users tbody tr").Length(); n != 100 {
			t.Errorf("%s: %d rows, want the default 100", path, n)
		}
	}
	// The export refuses bad values rather than guessing.
	resp, _ := e.get(c, "/users/export?methods=sms")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("export with a bad filter: %d", resp.StatusCode)
	}
}

// "Select all matching users" acts on the view with its new filters: here the non-admins with
// phone methods only who are Disabled, and no one else.
func TestQuickStepAllMatchingKeepsTheNewFilters(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleGlobalAdmin)
	ctx := context.Background()
	f := mfa.UserFilter{View: mfa.ViewAll, Status: "disabled", Privileged: mfa.PrivilegedNo, Methods: mfa.MethodsPhoneOnly, Limit: 1000}
	before, _ := e.db.FindUsers(ctx, f)
	others, _ := e.db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Status: "disabled", Limit: 1000})
	filter := "view=all&status=disabled&privileged=false&methods=phone-only&sort=upn"
	resp, doc := e.postForm(c, "/users/confirm", url.Values{"step": {"enable"}, "all": {"1"}, "filter": {filter}, "return": {"/users?" + filter}})
	if resp.StatusCode != 200 || doc.Find("[data-testid=applicable]").Text() != fmt.Sprintf("%d users", before.Total) {
		t.Fatalf("confirm all: %d %q (want %d)", resp.StatusCode, doc.Find("[data-testid=applicable]").Text(), before.Total)
	}
	form := url.Values{}
	doc.Find("#step-dialog input[type=hidden]").Each(func(_ int, s *goquery.Selection) { form.Add(s.AttrOr("name", ""), s.AttrOr("value", "")) })
	e.postForm(c, "/users/step", form)
	after, _ := e.db.FindUsers(ctx, f)
	left, _ := e.db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Status: "disabled", Limit: 1000})
	if before.Total < 2 || after.Total != 0 || left.Total != others.Total-before.Total {
		t.Fatalf("all matching: %d before, %d after; %d disabled before, %d after", before.Total, after.Total, others.Total, left.Total)
	}
}
