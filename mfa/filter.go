package mfa

import (
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

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

// Search limits.
const (
	MaxQueryLen  = 100  // characters of a search string; longer ones are refused
	DefaultLimit = 100  // users a page
	MaxLimit     = 1000 // users a page at most (API)
)

// UserFilter selects a page of users sorted by display name. Query matches, case- and
// accent-insensitively, the start of the display name, of any word in it, or of the user name.
type UserFilter struct {
	View   View
	Status StatusFilter
	Query  string
	Limit  int
	// After and Before are opaque keyset cursors from a previous UserPage; at most one is set.
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

// foldTransformers are reused (a transform.Chain keeps state, so one is not safe for concurrent use).
var foldTransformers = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

// foldReplacer handles letters that do not decompose but that admins type without their stroke.
var foldReplacer = strings.NewReplacer("ø", "o", "ł", "l", "đ", "d", "ß", "ss", "æ", "ae", "œ", "oe", "ı", "i")

// Fold returns the search form of s: accents removed, lower-cased, spaces collapsed. Display
// names are sorted and searched by their folded form so that "élodie" sorts and matches as "elodie".
// It is safe for concurrent use.
func Fold(s string) string {
	out := s
	if !isASCII(s) {
		t := foldTransformers.Get().(transform.Transformer)
		var err error
		out, _, err = transform.String(t, s)
		foldTransformers.Put(t)
		if err != nil {
			out = s
		}
	}
	out = strings.ToLower(out)
	if !isASCII(out) {
		out = foldReplacer.Replace(out)
	}
	return strings.Join(strings.Fields(out), " ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// SearchTerms returns the folded prefixes under which a user is found: the whole display name,
// each later word of it, and the user name.
func SearchTerms(displayName, upn string) []string {
	dn := Fold(displayName)
	terms := []string{dn}
	words := strings.FieldsFunc(dn, func(r rune) bool {
		return unicode.IsSpace(r) || r == '-' || r == ',' || r == '(' || r == ')' || r == '.' || r == '\''
	})
	seen := map[string]bool{dn: true}
	for i, w := range words {
		if i == 0 && strings.HasPrefix(dn, w) {
			continue // already covered by the whole name
		}
		if !seen[w] {
			seen[w] = true
			terms = append(terms, w)
		}
	}
	if u := NormalizeUPN(upn); !seen[u] {
		terms = append(terms, u)
	}
	return terms
}
