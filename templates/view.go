// Package templates renders the portal's pages with templ. Components take plain view structs that
// handlers fill; they never call the domain. templ escapes every value, so display names such as
// "<script>" are shown as text.
package templates

import (
	"time"

	"github.com/a-h/templ"

	"github.com/mfaportal/mfaportal/mfa"
)

// Page is what every page's chrome needs.
type Page struct {
	Title    string
	Actor    mfa.Actor
	SignedIn bool
	Tab      string // "users", "settings" or "" (no tab selected)
	Refresh  int    // reload every this many seconds when JavaScript is off (progress pages)
	// QuickSteps adds a skip link to the quick steps (the users page).
	QuickSteps bool
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
	Self     string       // this page's URL, for the per-user pages' "back" link
	Filter   string       // the filter's query string (view, status, q), for "all matching users"
	Choices  []ChoiceView // the enumerated filters beyond view and status (mfa.Choices)
	Sort     mfa.SortField
	Order    mfa.SortOrder
	Columns  []SortColumn // the table's headings, each a link that sorts by it
	CanBulk  bool
	Steps    []mfa.Action // the quick steps the role may take
	CanReset bool         // the role may Manage user settings
	Dialog   templ.Component
	Sync     *SyncView // the local index's state, for a directory synchronized from Graph
	MaxStep  int       // the most users a quick step acts on (mfa.Capabilities.MaxStep)
	// ConditionalAccess shows each user's Conditional Access coverage (Microsoft Graph).
	ConditionalAccess bool
	// The state kept across a quick step's dialog: the users selected (by mfa.NormalizeUPN), or the
	// whole view, and those the step changed (highlighted).
	Selected    map[string]bool
	AllSelected bool
	Changed     map[string]bool
}

// ChoiceView is one of mfa.Choices with its value in the current view.
type ChoiceView struct {
	mfa.Choice
	Value string
}

// SortColumn is a heading of the users table: its label, the link that sorts by it, and its
// aria-sort ("ascending", "descending", or "" when the list is not sorted by it).
type SortColumn struct {
	Label    string
	URL      string
	AriaSort string
}

// UserView is the per-user page.
type UserView struct {
	User     *mfa.User
	BackURL  string
	Self     string
	Steps    []mfa.Action // quick steps that apply to the user and that the role may take
	CanReset bool
	History  []*mfa.AuditRecord
	Notice   string
	// AppPasswordsAllowed is the service setting, for the note on existing app passwords.
	AppPasswordsAllowed bool
	Dialog              templ.Component
	// Exemption is the user's running exemption ("Disable for a while"); CanExempt offers one.
	Exemption *mfa.Exemption
	CanExempt bool
	// ExemptForm is what was typed into "Disable for a while" and why it was refused, shown
	// in the open form next to the field at fault.
	ExemptForm ExemptForm
	Now        time.Time
	// Security is the user's methods, app passwords and setup link on the embedded directory
	// (SPEC §7); nil where users register elsewhere (Microsoft Graph).
	Security *UserSecurityView
	// ConditionalAccess shows the user's Conditional Access coverage (Microsoft Graph).
	ConditionalAccess bool
}

// SignInView is the sign-in page.
type SignInView struct {
	Next     string
	Username string
	Error    string
	Notice   string
	Local    bool   // offer the local account form
	OIDCURL  string // where "Sign in with your organisation" goes; "" without organisation sign-in
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

// StepDialog is the confirmation dialog of a quick step over a selection.
type StepDialog struct {
	Step       string // "enable", "enforce", "disable", "exempt" (Disable for a while) or "manage"
	Op         string // one-time id of this confirmation, so a double submit applies once
	Return     string // the page to go back to
	Targets    []StepTarget
	All        bool   // the whole filtered view rather than the listed targets
	AllFilter  string // the filter's query string when All
	Applicable int    // users the step applies to
	Skipped    int    // selected users it does not apply to
	Warnings   mfa.StepWarnings
	Single     *mfa.User // the one user selected, for the dialog's text
	RequireWhy bool
	Error      string // a problem with the confirmation itself (e.g. a missing reason)
	ErrorField string // the field Error belongs to ("hours", "reason"), "" for the whole form
	Hours      string // Disable for a while: the hours typed
	Reason     string
	Options    mfa.ResetOptions
	// CanNotify offers "Notify users by email" on the enable dialog (mail is configured and the
	// role may notify); Notify is the admin's choice.
	CanNotify bool
	Notify    bool
	// Caps are the backend's: Manage user settings shows the options it cannot apply disabled,
	// with the reason (a zero Capability with no reason counts as available).
	Caps mfa.Capabilities
	// MoreNoMethods and MorePrivileged list the users each warning counts beyond the names shown
	// (a view of the users page, opened in a new tab).
	MoreNoMethods, MorePrivileged string
	// MoreCovered lists the users of the covered warning (those whose MFA Conditional Access
	// requires already) in the state the step applies to.
	MoreCovered string
	// SetupURL is where users register their security info: the enable dialog's "security info page".
	SetupURL string
}

// StepTarget is a selected user carried by the confirmation form.
type StepTarget struct {
	UPN     string
	Version int64
}

// ResultDialog shows what a quick step did.
type ResultDialog struct {
	Step    string // the step taken, whose button gets the focus back
	Title   string
	Return  string
	Results []mfa.UserResult
	Counts  map[mfa.Outcome]int
	OK      bool
	// Notified are the registration emails of notify, or of an enable with "Notify users by
	// email" (notify.templ); NotifyError says why none was sent.
	Notified    []mfa.UserResult
	NotifyError string
}

// AuditView is the audit log page.
type AuditView struct {
	Target, Actor, Action, Since, Until string
	Records                             []*mfa.AuditRecord
	NextURL                             string
	FirstURL                            string
	Export                              string
	Error                               string
	ErrorField                          string
}

// SettingsView is the service settings page. Raw holds what the admin typed, kept on errors.
type SettingsView struct {
	Settings   mfa.Settings
	RangesText string
	DaysText   string
	Caps       mfa.Capabilities
	Errors     mfa.FieldErrors
	ReadOnly   bool // the role may not save
	Notice     string
}

// BulkView is the bulk update wizard: step 1 (no Job), 2 (a planned job) or 3 (a started job).
type BulkView struct {
	Job        *mfa.Job
	Jobs       []*mfa.Job // recent jobs, on step 1
	Rows       []mfa.BulkRow
	Problems   bool // the preview shows only rows with problems
	NextURL    string
	FirstURL   string
	Error      string // a refused file, shown next to the file input
	MaxBytes   string
	MaxRows    int
	RequireWhy bool
	Now        time.Time
	// ChangedSince is, on the verify page of an undo, how many users it skips because someone
	// changed them since the update.
	ChangedSince int
}

// ExemptForm is a refused "Disable for a while": the typed values and the error (Field "hours",
// or "" for one about the whole request, such as a user exempted already).
type ExemptForm struct {
	Hours  string
	Reason string
	Error  string
	Field  string
}
