package mfa

import "strings"

// PrivilegedFilter filters users by whether they hold an admin role: "" (any), "true" (the page's
// **Admins**) or "false".
type PrivilegedFilter string

// The values of PrivilegedFilter, as the URL and the API spell them (privileged=true).
const (
	PrivilegedAny PrivilegedFilter = ""
	PrivilegedYes PrivilegedFilter = "true"
	PrivilegedNo  PrivilegedFilter = "false"
)

// MethodsFilter filters users by their registered methods: "" (any), "none" or "phone-only".
type MethodsFilter string

// The values of MethodsFilter, as the URL and the API spell them (methods=none|phone-only).
const (
	MethodsAny       MethodsFilter = ""
	MethodsNone      MethodsFilter = "none"       // No registered methods
	MethodsPhoneOnly MethodsFilter = "phone-only" // Phone only: SMS or voice methods and nothing else
)

// MethodsClass is what MethodsFilter tells users apart by. Directories keep it with each user
// (the embedded directory computes it in SQL: see ClassifyMethods).
type MethodsClass int

// The classes of a user's registered methods.
const (
	MethodsClassNone      MethodsClass = 0 // no registered method
	MethodsClassPhoneOnly MethodsClass = 1 // only mobilePhone, alternateMobilePhone, officePhone
	MethodsClassOther     MethodsClass = 2 // at least one method that is not a phone
)

// IsPhone reports whether the method is a phone that receives SMS or voice calls.
func (m MethodType) IsPhone() bool {
	return m == MethodMobilePhone || m == MethodAlternateMobilePhone || m == MethodOfficePhone
}

// ClassifyMethods returns the class of a user's methods.
func ClassifyMethods(ms []Method) MethodsClass {
	if len(ms) == 0 {
		return MethodsClassNone
	}
	for _, m := range ms {
		if !m.Type.IsPhone() {
			return MethodsClassOther
		}
	}
	return MethodsClassPhoneOnly
}

// Option is one value of an enumerated filter: how the URL and the API spell it, and how the page
// names it.
type Option struct {
	Value string
	Label string
}

// Choice is an enumerated filter of the users list beyond View and Status (SPEC §10): its URL and
// API parameter, the label of its select on the page, its options (the first, value "", is "any";
// "any" is also accepted for it) and the UserFilter field it sets. The page, its export and the
// API parse, show and keep every Choice alike, so a new enumerated filter is a field of
// UserFilter, an entry here and its column in each directory.
type Choice struct {
	Param   string
	Label   string
	Options []Option
	field   func(*UserFilter) *string
	// Only, when set, says which directories offer the filter (by what they can do); the others
	// refuse it (Service.ListUsers) and the page does not show it.
	Only func(Capabilities) bool
}

// Offered reports whether a directory that can do caps offers the filter.
func (c Choice) Offered(caps Capabilities) bool { return c.Only == nil || c.Only(caps) }

// Choices are the enumerated filters, in the order the page shows them.
var Choices = []Choice{
	{
		Param: "privileged", Label: "Admins",
		Options: []Option{{"", "Any"}, {string(PrivilegedYes), "Admins"}, {string(PrivilegedNo), "Not admins"}},
		field:   func(f *UserFilter) *string { return (*string)(&f.Privileged) },
	},
	{
		Param: "methods", Label: "Registered methods",
		Options: []Option{{"", "Any"}, {string(MethodsNone), "No registered methods"}, {string(MethodsPhoneOnly), "Phone only"}},
		field:   func(f *UserFilter) *string { return (*string)(&f.Methods) },
	},
	{
		Param: "coverage", Label: "Conditional Access",
		Options: []Option{{"", "Any"}, {string(CoverageCA), "MFA required (Conditional Access or security defaults)"}, {string(CoverageNone), "MFA not required by Conditional Access"}},
		field:   func(f *UserFilter) *string { return (*string)(&f.Coverage) },
		Only:    func(c Capabilities) bool { return c.ConditionalAccess },
	},
}

// CoverageFilter filters users by their Conditional Access coverage (SPEC §11): "" (any), "ca"
// (Coverage.Covered: an enabled policy or security defaults require their MFA) or "none" (not
// covered, report-only included).
type CoverageFilter string

// The values of CoverageFilter, as the URL and the API spell them (coverage=ca|none).
const (
	CoverageAny  CoverageFilter = ""
	CoverageCA   CoverageFilter = "ca"
	CoverageNone CoverageFilter = "none"
)

// Parse returns the canonical spelling of s, matched case-insensitively; "" and "any" give "".
// An unknown value is EINVALID naming the parameter.
func (c Choice) Parse(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "any") {
		return "", nil
	}
	for _, o := range c.Options[1:] {
		if strings.EqualFold(s, o.Value) {
			return o.Value, nil
		}
	}
	names := []string{"any"}
	for _, o := range c.Options[1:] {
		names = append(names, o.Value)
	}
	return "", FieldErrorf(c.Param, "unknown %s %q: expected %s or %s", c.Param, truncate(s, 40),
		strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}

// Get returns the filter's value for this choice ("" for any).
func (c Choice) Get(f *UserFilter) string { return *c.field(f) }

// Set sets the filter's value for this choice; the value is checked by UserFilter.Validate.
func (c Choice) Set(f *UserFilter, v string) { *c.field(f) = v }

// LabelOf returns the label of value v, or v itself if it is not an option.
func (c Choice) LabelOf(v string) string {
	for _, o := range c.Options {
		if o.Value == v {
			return o.Label
		}
	}
	return v
}
