package web

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mfaportal/mfaportal/mfa"
)

// A warning names exactly the users it counts. Users selected on a page: the first twenty, then
// the rest behind "and N more" — no link to the view's filter, which would list the rest of the
// view too. All matching users: "and N more" links to the view that lists exactly those counted.
func TestWarningsNameTheUsersCounted(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleGlobalAdmin)
	ctx := context.Background()
	page, err := e.db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Status: mfa.StatusFilter(mfa.StateEnabled), Methods: "none", Limit: mfa.MaxLimit})
	if err != nil || page.Total < 40 {
		t.Fatalf("%d Enabled users without methods (%v): the test needs 40", page.Total, err)
	}
	var sels, picked []string
	for _, u := range page.Users[:30] {
		sels, picked = append(sels, sel(u)), append(picked, u.UPN)
	}
	_, doc := e.postForm(c, "/users/confirm", url.Values{"step": {"enforce"}, "sel": sels, "return": {"/users?view=all&status=enabled"}})
	w := doc.Find(`[data-testid="warn-no-methods"]`)
	names := func(s *goquery.Selection) []string {
		var out []string
		s.Each(func(_ int, li *goquery.Selection) {
			upn := strings.Trim(li.Find(".muted").Text(), "()")
			out = append(out, upn)
		})
		return out
	}
	shown, rest := names(w.Children().Filter("ul.names").Find("li")), names(w.Find(`[data-testid="more-names"] li`))
	if len(shown) != mfa.MaxWarningNames || len(rest) != 10 || !strings.Contains(w.Find(`[data-testid="more-names"] summary`).Text(), "and 10 more") {
		t.Errorf("page selection: %d names shown, %d behind %q", len(shown), len(rest), w.Find("summary").Text())
	}
	all := append(shown, rest...)
	slices.Sort(all)
	slices.Sort(picked)
	if !slices.Equal(all, picked) {
		t.Errorf("page selection names %q, selected %q", all, picked)
	}
	if w.Find(`a[data-testid="more"]`).Length() != 0 {
		t.Errorf("page selection links to the view: %q", w.Find(`a[data-testid="more"]`).AttrOr("href", ""))
	}

	// All matching users: the link lists as many as the warning counts.
	filter := "view=all&status=enabled"
	_, doc = e.postForm(c, "/users/confirm", url.Values{"step": {"enforce"}, "all": {"1"}, "filter": {filter}, "return": {"/users?" + filter}})
	w = doc.Find(`[data-testid="warn-no-methods"]`)
	href, ok := w.Find(`a[data-testid="more"]`).Attr("href")
	if !ok || w.Find(`[data-testid="more-names"]`).Length() != 0 {
		t.Fatalf("all matching: no link to the others: %q", strings.Join(strings.Fields(w.Text()), " "))
	}
	_, query, _ := strings.Cut(href, "?")
	if l, code := e.apiList(c, query); code != 200 || l.Total != page.Total || w.Find("strong").First().Text() != fmt.Sprintf("%d users", page.Total) {
		t.Errorf("all matching: the link %q lists %d (%d), the warning counts %q, want %d", href, l.Total, code, w.Find("strong").First().Text(), page.Total)
	}
}
