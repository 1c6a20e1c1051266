package web

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// TestRegistrationTab lists the Enabled users who have not registered, oldest first, pages them,
// and exports them in a file that bulk update reads.
func TestRegistrationTab(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	// The demo tenant was seeded at e.now; two users enabled later, one earlier by a bulk writer.
	svc := mfa.MustNewService(mfa.Deps{Directory: e.db, Accounts: e.db, Audit: e.db, Settings: e.db, Jobs: e.db, Now: func() time.Time { return e.now.Add(-72 * time.Hour) }})
	page, err := e.db.AwaitingRegistration(ctx, mfa.RegistrationFilter{Limit: mfa.MaxLimit})
	if err != nil || page.Total == 0 {
		t.Fatalf("the demo tenant has no one awaiting registration: %v", err)
	}
	first := page.Users[0]
	var disabled *mfa.User
	all, _ := e.db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Status: mfa.StatusFilter(mfa.StateDisabled), Limit: 10})
	for _, u := range all.Users {
		if !u.HasMethods() && !u.Privileged {
			disabled = u
			break
		}
	}
	if _, _, err := svc.SetState(ctx, mfa.CLIActor, mfa.StateRequest{UPN: disabled.UPN, To: mfa.StateEnabled}); err != nil {
		t.Fatal(err)
	}
	c := e.signedIn(mfa.RoleReader)
	_, doc := e.get(c, "/registration")
	if doc.Find(`nav.tabs a[aria-current="page"]`).Text() != "registration" {
		t.Errorf("tab: %q", doc.Find("nav.tabs").Text())
	}
	total := doc.Find(`[data-testid="registration-total"]`).Text()
	if want := fmt.Sprint(page.Total + 1); !strings.Contains(strings.ReplaceAll(total, ",", ""), want) {
		t.Errorf("total %q, want %d", total, page.Total+1)
	}
	rows := doc.Find("table.registration tbody tr")
	if rows.Length() != min(page.Total+1, mfa.DefaultLimit) {
		t.Errorf("%d rows on the first page", rows.Length())
	}
	if got := rows.First().Find("td").Eq(1).Text(); got != disabled.UPN {
		t.Errorf("first row %q, want the user enabled three days ago %s", got, disabled.UPN)
	}
	if got := rows.First().Find(`[data-testid="enabled-ago"]`).Text(); got != "3 days ago" {
		t.Errorf("enabled %q, want 3 days ago", got)
	}
	if got := rows.Eq(1).Find("td").Eq(1).Text(); got != first.UPN {
		t.Errorf("second row %q, want %s", got, first.UPN)
	}
	if doc.Find(`input[name="sel"]`).Length() != 0 {
		t.Errorf("a reader is offered notify")
	}
	if next, ok := doc.Find(`a[rel="next"]`).Attr("href"); page.Total+1 > mfa.DefaultLimit && ok {
		_, doc2 := e.get(c, next)
		if n := doc2.Find("table.registration tbody tr").Length(); n != page.Total+1-mfa.DefaultLimit {
			t.Errorf("second page: %d rows", n)
		}
	}
	_, doc = e.get(c, "/registration?after=garbage")
	if !strings.Contains(doc.Find(".notice").Text(), "no longer valid") || doc.Find("table.registration tbody tr").Length() == 0 {
		t.Errorf("a bad cursor: %q", doc.Find("main").Text())
	}

	resp, err := c.Get(e.srv.URL + "/registration/export")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(body)), "\r\n")
	if !strings.HasPrefix(lines[0], "\ufeffUsername,MFA Status,Display Name,Enabled At,Days Enabled") || len(lines) != page.Total+2 ||
		!strings.HasPrefix(lines[1], disabled.UPN+",Enabled,") || !strings.Contains(lines[1], ",3,") {
		t.Errorf("export: %d lines, %q", len(lines), lines[:2])
	}
	bulk := mfa.MustNewService(mfa.Deps{Directory: e.db, Accounts: e.db, Audit: e.db, Settings: e.db, Jobs: e.db})
	counts, err := bulk.PlanBulk(ctx, mfa.CLIActor, strings.NewReader(string(body)), mfa.DefaultCSVLimits, func([]mfa.BulkRow) error { return nil })
	if err != nil || counts.Unchanged != page.Total+1 || counts.Errors != 0 {
		t.Errorf("the export read by bulk update: %+v, %v", counts, err)
	}
}
