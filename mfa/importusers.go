package mfa

import (
	"io"
	"strings"
)

// ImportColumns says which optional columns a `users import` file has; absent columns leave
// existing users' values as they are (and give defaults to new users).
type ImportColumns struct {
	State, AccountEnabled, Admin, Methods bool
}

// UserImport is a `users import` file as read.
type UserImport struct {
	Users   []ImportUser
	Columns ImportColumns
	// Notice is what the admin should know about how the file was read ("" when nothing): that
	// its text was not UTF-8 and was read as Windows-1252, a guess they should check.
	Notice string
}

// Windows1252ImportNotice is a users import file's Notice when its text was read as Windows-1252.
const Windows1252ImportNotice = "The file is not UTF-8: it was read as Windows-1252, the encoding Excel's \"CSV (Comma delimited)\" " +
	"and LibreOffice use by default. Check accented names (users export); saving as \"CSV UTF-8\" avoids the guess."

// ImportUser is one line of a `users import` file.
type ImportUser struct {
	Line int
	User User // UPN, DisplayName and the optional columns' values
}

// ParseUserImport reads a `users import` file (SPEC §5): header UserPrincipalName,DisplayName and
// optionally MFA Status, AccountEnabled, Admin, Methods (space-separated, the first is the default).
// Every bad line is reported by number in a *LineErrors; with any bad line nothing is returned.
func ParseUserImport(r io.Reader, lim CSVLimits) (UserImport, error) {
	c, err := OpenCSV(r, lim)
	if err != nil {
		return UserImport{}, err
	}
	iUPN, iName := c.Column("UserPrincipalName"), c.Column("DisplayName")
	if iUPN < 0 || iName < 0 {
		return UserImport{}, Errorf(EINVALID, "the header must name the columns UserPrincipalName and DisplayName (optionally MFA Status, AccountEnabled, Admin, Methods); found %q", truncate(strings.Join(c.Header, string(c.Delimiter)), 200))
	}
	iState, iEnabled, iAdmin, iMethods := c.Column("MFA Status"), c.Column("AccountEnabled"), c.Column("Admin"), c.Column("Methods")
	cols := ImportColumns{State: iState >= 0, AccountEnabled: iEnabled >= 0, Admin: iAdmin >= 0, Methods: iMethods >= 0}

	var out []ImportUser
	var bad LineErrors
	seen := map[string]int{}
	field := func(rec Record, i int) string {
		if i >= 0 && i < len(rec.Fields) {
			return rec.Fields[i]
		}
		return ""
	}
	for {
		rec, err := c.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return UserImport{}, err
		}
		u := User{UPN: field(rec, iUPN), DisplayName: field(rec, iName), State: StateDisabled, AccountEnabled: true}
		if err := ValidateUPN(u.UPN); err != nil {
			bad.Add(rec.Line, "%s", ErrorMessage(err))
			continue
		}
		key := NormalizeUPN(u.UPN)
		if prev, dup := seen[key]; dup {
			bad.Add(rec.Line, "user %s is already on line %d", u.UPN, prev)
			continue
		}
		seen[key] = rec.Line
		if err := ValidateDisplayName(u.DisplayName); err != nil {
			bad.Add(rec.Line, "%s", ErrorMessage(err))
			continue
		}
		u.DisplayName = strings.TrimSpace(u.DisplayName)
		if cols.State {
			if s := field(rec, iState); s != "" {
				st, err := ParseState(s)
				if err != nil {
					bad.Add(rec.Line, "%s", ErrorMessage(err))
					continue
				}
				u.State = st
			}
		}
		var ok bool
		if u.AccountEnabled, ok = parseBoolField(field(rec, iEnabled), true); !ok {
			bad.Add(rec.Line, "AccountEnabled is %q: expected true or false", truncate(field(rec, iEnabled), 20))
			continue
		}
		if u.Privileged, ok = parseBoolField(field(rec, iAdmin), false); !ok {
			bad.Add(rec.Line, "Admin is %q: expected true or false", truncate(field(rec, iAdmin), 20))
			continue
		}
		methods, err := ParseMethodList(field(rec, iMethods))
		if err != nil {
			bad.Add(rec.Line, "%s", ErrorMessage(err))
			continue
		}
		u.Methods = methods
		out = append(out, ImportUser{Line: rec.Line, User: u})
	}
	if bad.Total > 0 {
		return UserImport{}, &bad
	}
	if len(out) == 0 {
		return UserImport{}, Errorf(EINVALID, "the file has a header but no users")
	}
	imp := UserImport{Users: out, Columns: cols}
	if c.Transcoded { // known only once every field is read: one field can be the only one not UTF-8
		imp.Notice = Windows1252ImportNotice
	}
	return imp, nil
}

// ParseMethodList parses a space-separated method list; the first is the default. Duplicates are refused.
func ParseMethodList(s string) ([]Method, error) {
	var out []Method
	seen := map[MethodType]bool{}
	for i, name := range strings.Fields(s) {
		m, err := ParseMethodType(name)
		if err != nil {
			return nil, err
		}
		if seen[m] {
			return nil, Errorf(EINVALID, "method %s is listed twice", m)
		}
		seen[m] = true
		out = append(out, Method{Type: m, IsDefault: i == 0})
	}
	return out, nil
}

// FormatMethodList is the inverse of ParseMethodList: the default method first.
func FormatMethodList(ms []Method) string {
	names := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.IsDefault {
			names = append([]string{string(m.Type)}, names...)
		} else {
			names = append(names, string(m.Type))
		}
	}
	return strings.Join(names, " ")
}

func parseBoolField(s string, def bool) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return def, true
	case "true", "yes", "1":
		return true, true
	case "false", "no", "0":
		return false, true
	}
	return def, false
}
