package mfa

import "strings"

// View filters users by whether they may sign in (the page's **View** control).
type View string

// The three views of SPEC §2, with the API's spelling.
const (
	ViewAllowed View = "allowed" // Sign-in allowed users (the page's default)
	ViewBlocked View = "blocked" // Sign-in blocked users
	ViewAll     View = "all"     // All users (the API's default)
)

// Views lists the views in the order the page shows them.
var Views = []View{ViewAllowed, ViewBlocked, ViewAll}

// Label is the view as the original page names it.
func (v View) Label() string {
	switch v {
	case ViewAllowed:
		return "Sign-in allowed users"
	case ViewBlocked:
		return "Sign-in blocked users"
	default:
		return "All users"
	}
}

// ParseView parses a view name case-insensitively; "" gives def.
func ParseView(s string, def View) (View, error) {
	switch v := View(strings.ToLower(strings.TrimSpace(s))); v {
	case "":
		return def, nil
	case ViewAllowed, ViewBlocked, ViewAll:
		return v, nil
	}
	return def, FieldErrorf("view", "unknown view %q: expected allowed, blocked or all", truncate(s, 40))
}

// StatusFilter filters users by MFA state: "" (any) or one State.
type StatusFilter State

// StatusAny matches every state.
const StatusAny StatusFilter = ""

// ParseStatusFilter parses "any", "enabled", "enforced" or "disabled" case-insensitively; "" is any.
func ParseStatusFilter(s string) (StatusFilter, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "any":
		return StatusAny, nil
	}
	st, err := ParseState(s)
	if err != nil {
		return StatusAny, FieldErrorf("status", "unknown status %q: expected any, enabled, enforced or disabled", truncate(s, 40))
	}
	return StatusFilter(st), nil
}

// String is the API spelling: "any" or the state.
func (f StatusFilter) String() string {
	if f == StatusAny {
		return "any"
	}
	return string(f)
}

// Label is the filter as the page shows it: "Any" or the state's label.
func (f StatusFilter) Label() string {
	if f == StatusAny {
		return "Any"
	}
	return State(f).Label()
}

// Search and page limits.
const (
	MaxQueryLen  = 100  // characters of a search string; longer ones are refused
	DefaultLimit = 100  // users a page
	MaxLimit     = 1000 // users a page at most (API)
)

// PageSizes are the page sizes the users page offers (the API takes any limit up to MaxLimit).
var PageSizes = []int{25, 50, 100, 250}

// UserFilter selects a page of users. Query matches, case- and accent-insensitively, the start of
// the display name, of any word in it, or of the user name. The enumerated filters beyond View and
// Status are listed in Choices, which the page, the export and the API parse and show alike.
type UserFilter struct {
	View       View
	Status     StatusFilter
	Privileged PrivilegedFilter
	Methods    MethodsFilter
	Coverage   CoverageFilter
	Query      string
	Sort       SortField
	Order      SortOrder
	Limit      int
	// After and Before are opaque keyset cursors from a previous UserPage of the same sort and
	// order; at most one is set.
	After  string
	Before string
}

// Validate checks the filter and fills defaults; it answers EINVALID naming the field at fault.
func (f *UserFilter) Validate() error {
	if f.View == "" {
		f.View = ViewAll
	}
	v, err := ParseView(string(f.View), ViewAll)
	if err != nil {
		return err
	}
	f.View = v // directories compare with the canonical spelling
	st, err := ParseStatusFilter(string(f.Status))
	if err != nil {
		return err
	}
	f.Status = st
	for _, c := range Choices {
		val, err := c.Parse(*c.field(f))
		if err != nil {
			return err
		}
		*c.field(f) = val
	}
	if f.Sort, err = ParseSortField(string(f.Sort)); err != nil {
		return err
	}
	if f.Order, err = ParseSortOrder(string(f.Order)); err != nil {
		return err
	}
	f.Query = strings.TrimSpace(f.Query)
	if n := len([]rune(f.Query)); n > MaxQueryLen {
		return FieldErrorf("q", "search is %d characters long: at most %d allowed", n, MaxQueryLen)
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return FieldErrorf("limit", "limit %d is out of range: expected 1 to %d", f.Limit, MaxLimit)
	}
	if f.After != "" && f.Before != "" {
		return FieldErrorf("cursor", "only one of after and before may be given")
	}
	return nil
}

// UserPage is one page of users and the total count of users matching the filter.
type UserPage struct {
	Users []*User
	Total int
	// NextCursor and PrevCursor continue the listing; "" when there is no next or previous page.
	NextCursor string
	PrevCursor string
}
