package postgres

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
)

// listDim is an enumerated column that the users list filters on: a column of users, of
// user_counts and of prefix_counts, and, but for the state, of user_terms (as in mfa/sqlite's
// migration 040). A new filter of the same kind is a new column there and an entry here (before
// the state).
type listDim struct {
	col    string
	values []any                         // every value the column takes, in sort order
	pick   func(f *mfa.UserFilter) []any // the values the filter allows; nil: every value
}

var listDims = []listDim{
	{col: "account_enabled", values: []any{false, true}, pick: func(f *mfa.UserFilter) []any {
		switch f.View {
		case mfa.ViewAllowed:
			return []any{true}
		case mfa.ViewBlocked:
			return []any{false}
		}
		return nil
	}},
	{col: "privileged", values: []any{false, true}, pick: func(f *mfa.UserFilter) []any {
		switch f.Privileged {
		case mfa.PrivilegedYes:
			return []any{true}
		case mfa.PrivilegedNo:
			return []any{false}
		}
		return nil
	}},
	{col: "methods_class", values: []any{int16(0), int16(1), int16(2)}, pick: func(f *mfa.UserFilter) []any {
		switch f.Methods {
		case mfa.MethodsNone:
			return []any{int16(mfa.MethodsClassNone)}
		case mfa.MethodsPhoneOnly:
			return []any{int16(mfa.MethodsClassPhoneOnly)}
		}
		return nil
	}},
	{col: "ca_covered", values: []any{false, true}, pick: func(f *mfa.UserFilter) []any {
		switch f.Coverage {
		case mfa.CoverageCA:
			return []any{true}
		case mfa.CoverageNone:
			return []any{false}
		}
		return nil
	}},
	// The state is last: it alone is not in user_terms (a bulk update changes a million of them).
	{col: "state", values: []any{string(mfa.StateDisabled), string(mfa.StateEnabled), string(mfa.StateEnforced)},
		pick: func(f *mfa.UserFilter) []any {
			if f.Status == mfa.StatusAny {
				return nil
			}
			return []any{string(f.Status)}
		}},
}

// stateDim is the state's position in listDims and in a class.
var stateDim = len(listDims) - 1

// class is one combination of values of listDims, in their order: the users of one class are a
// range of each index that starts with those columns.
type class []any

// classCount is a class, how many users match the search in it (n), and how many users it has.
type classCount struct {
	class class
	n     int
	all   int
}

// dimCols are the columns of listDims, with the alias prefix given ("t." say), comma-separated.
func dimCols(alias string) string {
	cols := make([]string, len(listDims))
	for i, d := range listDims {
		cols[i] = alias + d.col
	}
	return strings.Join(cols, ", ")
}

// allowedWhere restricts the columns of listDims but the state to what f allows.
func allowedWhere(f *mfa.UserFilter, alias string, a *args) []string {
	var where []string
	for _, d := range listDims[:stateDim] {
		if vals := d.pick(f); vals != nil {
			where = append(where, alias+d.col+" = "+a.add(vals[0]))
		}
	}
	return where
}

// cursor is the keyset position of a row in one sort: its key (folded display name or user-name
// key), its state when sorted by status, and its id.
type cursor struct {
	Sort  mfa.SortField `json:"s"`
	Order mfa.SortOrder `json:"o"`
	State string        `json:"t,omitempty"`
	Key   string        `json:"k"`
	ID    int64         `json:"i"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor made for the sort and order of f; any other is EINVALID.
func decodeCursor(s string, f *mfa.UserFilter) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil && len(b) < 2048 {
		err = json.Unmarshal(b, &c)
	} else if err == nil {
		err = errors.New("too long")
	}
	if err == nil && (c.Sort != f.Sort || c.Order != f.Order) {
		return cursor{}, mfa.FieldErrorf("cursor", "the page cursor belongs to another sort order: start again from the first page")
	}
	if err != nil || c.ID <= 0 || f.Sort == mfa.SortStatus && !mfa.State(c.State).Valid() {
		return cursor{}, mfa.FieldErrorf("cursor", "the page cursor is not valid: start again from the first page")
	}
	return c, nil
}
