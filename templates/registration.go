package templates

import (
	"fmt"
	"time"

	"github.com/a-h/templ"

	"github.com/mfaportal/mfaportal/mfa"
)

// RegistrationView is the registration tab: Enabled users who have not completed registration,
// enabled longest ago first.
type RegistrationView struct {
	Page      *mfa.RegistrationPage
	Now       time.Time
	FirstURL  string // "" on the first page
	NextURL   string
	Self      string
	Notices   []string
	CanNotify bool   // the role may notify users (notify.go)
	MailReady string // why notify cannot send ("" when SMTP is configured)
	Op        string // one-time id of the notify form
	Dialog    templ.Component
}

// Ago says how long ago t was, as an admin reads it: "3 days ago", "5 hours ago", "just now".
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "unknown"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return count(int(d/time.Minute), "minute", "minutes") + " ago"
	case d < 48*time.Hour:
		return count(int(d/time.Hour), "hour", "hours") + " ago"
	}
	return count(int(d/(24*time.Hour)), "day", "days") + " ago"
}

// count is n and its noun: "1 day", "1,204 users".
func count(n int, one, many string) string {
	return fmt.Sprintf("%s %s", thousands(n), plural(n, one, many))
}

// registrationReason says why a user awaiting registration must register.
func registrationReason(u *mfa.User) string {
	if u.HasMethods() {
		return "re-enabled while holding old methods"
	}
	return "no registered methods"
}
