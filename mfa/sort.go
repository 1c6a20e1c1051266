package mfa

import "strings"

// SortField is the column the users list is sorted by (sort=name|upn|status).
type SortField string

// The sort fields; ties are broken by display name, then by the directory's id.
const (
	SortName   SortField = "name"   // display name (the default)
	SortUPN    SortField = "upn"    // user name
	SortStatus SortField = "status" // MFA state (Disabled, Enabled, Enforced), then display name
)

// SortFields lists the sort fields in the order of the table's columns.
var SortFields = []SortField{SortName, SortUPN, SortStatus}

// Label is the column's heading on the page.
func (s SortField) Label() string {
	switch s {
	case SortUPN:
		return "USER NAME"
	case SortStatus:
		return "MULTI-FACTOR AUTH STATUS"
	default:
		return "DISPLAY NAME"
	}
}

// ParseSortField parses a sort field case-insensitively; "" is SortName.
func ParseSortField(s string) (SortField, error) {
	switch f := SortField(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return SortName, nil
	case SortName, SortUPN, SortStatus:
		return f, nil
	}
	return SortName, FieldErrorf("sort", "unknown sort %q: expected name, upn or status", truncate(s, 40))
}

// SortOrder is the direction of the sort (order=asc|desc).
type SortOrder string

// The sort orders. Sorted by status, descending puts Enforced first; within a state the users stay
// in display-name order.
const (
	OrderAsc  SortOrder = "asc"
	OrderDesc SortOrder = "desc"
)

// ParseSortOrder parses a sort order case-insensitively; "" is OrderAsc.
func ParseSortOrder(s string) (SortOrder, error) {
	switch o := SortOrder(strings.ToLower(strings.TrimSpace(s))); o {
	case "":
		return OrderAsc, nil
	case OrderAsc, OrderDesc:
		return o, nil
	}
	return OrderAsc, FieldErrorf("order", "unknown order %q: expected asc or desc", truncate(s, 40))
}

// AriaSort is the order as the aria-sort attribute names it.
func (o SortOrder) AriaSort() string {
	if o == OrderDesc {
		return "descending"
	}
	return "ascending"
}
