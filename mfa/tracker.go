package mfa

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"time"
)

// The registration tracker (SPEC §10): Enabled users who have not completed registration, those
// enabled longest ago first, so that an admin can remind them (notify.go) or give up on them.

// Registered reports whether the user has completed registration: they hold registered methods and
// were not re-enabled while holding old ones (SPEC §1, §7). An Enabled user who is not registered
// is prompted to register at their next sign-in.
func (u *User) Registered() bool { return u.HasMethods() && !u.HadMethodsWhenReenabled }

// EnabledSince is when a user, after a change, became Enabled: kept from before when they were
// Enabled already, else at, the time of the change; zero when they are not Enabled. Every writer of
// a directory store sets User.EnabledAt with it.
func EnabledSince(before, after *User, at time.Time) time.Time {
	switch {
	case after.State != StateEnabled:
		return time.Time{}
	case before != nil && before.State == StateEnabled && !before.EnabledAt.IsZero():
		return before.EnabledAt
	}
	return at.UTC().Truncate(time.Millisecond)
}

// RegistrationFilter pages the users awaiting registration.
type RegistrationFilter struct {
	Limit int    // 1..MaxLimit; 0 means DefaultLimit
	After string // cursor of the previous page's last user
	// NoTotal skips counting (RegistrationPage.Total is 0): the export pages through them all.
	NoTotal bool
}

// Validate fills the default limit and checks the range.
func (f *RegistrationFilter) Validate() error {
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return FieldErrorf("limit", "limit %d is out of range: expected 1 to %d", f.Limit, MaxLimit)
	}
	return nil
}

// RegistrationPage is a page of users awaiting registration, enabled longest ago first.
type RegistrationPage struct {
	Users      []*User // with EnabledAt
	Total      int     // users awaiting registration in all
	NextCursor string  // "" on the last page
}

// RegistrationStore lists users awaiting registration. The embedded directory and the local index
// of a Microsoft Graph directory both implement it (mfa/sqlite).
type RegistrationStore interface {
	// AwaitingRegistration returns a page of Enabled users who have not completed registration
	// (User.Registered is false), by EnabledAt then id, and how many there are. f is validated;
	// a malformed cursor is EINVALID (field "cursor").
	AwaitingRegistration(ctx context.Context, f RegistrationFilter) (*RegistrationPage, error)
}

// AwaitingRegistration is the registration tab's list; any role may see it.
func (s *Service) AwaitingRegistration(ctx context.Context, actor Actor, f RegistrationFilter) (*RegistrationPage, error) {
	if err := actor.Require(PermView); err != nil {
		return nil, err
	}
	if s.Registrations == nil {
		return nil, Errorf(EUNAVAILABLE, "this directory does not track registration")
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return s.Registrations.AwaitingRegistration(ctx, f)
}

// RegistrationExportHeader is the registration tab's CSV: the bulk update format (so that the file
// can go back into bulk update, e.g. to disable those who never registered), then who they are and
// since when they are Enabled.
var RegistrationExportHeader = []string{"Username", "MFA Status", "Display Name", "Enabled At", "Days Enabled", "Sign-in", "Admin", "Methods"}

// ExportAwaitingRegistration writes every user awaiting registration as CSV (UTF-8 with BOM,
// formula-safe), oldest first, a page at a time.
func (s *Service) ExportAwaitingRegistration(ctx context.Context, actor Actor, w io.Writer) error {
	f := RegistrationFilter{Limit: MaxLimit, NoTotal: true}
	page, err := s.AwaitingRegistration(ctx, actor, f)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(RegistrationExportHeader); err != nil {
		return err
	}
	now := s.now()
	for {
		for _, u := range page.Users {
			signIn := "Allowed"
			if !u.AccountEnabled {
				signIn = "Blocked"
			}
			row := []string{u.UPN, u.State.Label(), u.DisplayName, u.EnabledAt.UTC().Format(time.RFC3339),
				strconv.Itoa(DaysSince(u.EnabledAt, now)), signIn, strconv.FormatBool(u.Privileged), FormatMethodList(u.Methods)}
			for i := range row {
				row[i] = SafeCSVField(row[i])
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if page.NextCursor == "" {
			return nil
		}
		f.After = page.NextCursor
		if page, err = s.AwaitingRegistration(ctx, actor, f); err != nil {
			return err
		}
	}
}

// DaysSince is how many whole days have passed from t to now (0 for a time in the future).
func DaysSince(t, now time.Time) int {
	if t.IsZero() || now.Before(t) {
		return 0
	}
	return int(now.Sub(t) / (24 * time.Hour))
}

// CurrentTime is the service's clock (Now, or the machine's time), for pages that say "3 days ago".
func (s *Service) CurrentTime() time.Time { return s.now() }
