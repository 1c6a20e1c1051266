// Package templates renders the portal's pages with templ. Components take plain view structs that
// handlers fill; they never call the domain. templ escapes every value, so display names such as
// "<script>" are shown as text.
package templates

import (
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// Page is what every page's chrome needs.
type Page struct {
	Title    string
	Actor    mfa.Actor
	SignedIn bool
	Tab      string // "users", "settings" or "" (no tab selected)
}

// UsersView is the users page.
type UsersView struct {
	View     mfa.View
	Status   mfa.StatusFilter
	Query    string
	Page     *mfa.UserPage
	PageNum  int
	PerPage  int
	Notices  []string // e.g. "unknown view: showing ..."
	PrevURL  string
	NextURL  string
	FirstURL string
	Export   string
	Self     string // this page's URL, for the per-user pages' "back" link
	CanBulk  bool
}

// UserView is the per-user page.
type UserView struct {
	User      *mfa.User
	BackURL   string
	Now       time.Time
	ReadAtSet bool
}

// SignInView is the sign-in page.
type SignInView struct {
	Next     string
	Username string
	Error    string
	Notice   string
}

// ErrorView is an error page: a status, a heading and a message.
type ErrorView struct {
	Status  int
	Heading string
	Message string
}

// FormatTime formats a time for display, or "never" for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
