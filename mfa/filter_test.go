package mfa

import (
	"slices"
	"strings"
	"testing"
)

func TestParseView(t *testing.T) {
	tests := []struct {
		in      string
		def     View
		want    View
		wantErr bool
	}{
		{"", ViewAllowed, ViewAllowed, false},
		{"", ViewAll, ViewAll, false},
		{"  ", ViewAll, ViewAll, false},
		{"allowed", ViewAll, ViewAllowed, false},
		{"BLOCKED", ViewAll, ViewBlocked, false},
		{" All ", ViewAllowed, ViewAll, false},
		{"allowd", ViewAll, ViewAll, true},
		{"Sign-in allowed users", ViewAll, ViewAll, true},
		{"any", ViewAllowed, ViewAllowed, true},
	}
	for _, tt := range tests {
		got, err := ParseView(tt.in, tt.def)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseView(%q, %q) = %q, %v; want %q, error %v", tt.in, tt.def, got, err, tt.want, tt.wantErr)
		}
		if err != nil {
			checkFieldError(t, "ParseView("+tt.in+")", err, "view", tt.in, "allowed, blocked or all")
		}
	}
}

func TestViewLabel(t *testing.T) {
	tests := []struct {
		v    View
		want string
	}{
		{ViewAllowed, "Sign-in allowed users"},
		{ViewBlocked, "Sign-in blocked users"},
		{ViewAll, "All users"},
	}
	for _, tt := range tests {
		if got := tt.v.Label(); got != tt.want {
			t.Errorf("View(%q).Label() = %q, want %q", tt.v, got, tt.want)
		}
	}
	if want := []View{ViewAllowed, ViewBlocked, ViewAll}; !slices.Equal(Views, want) {
		t.Errorf("Views = %v, want %v", Views, want)
	}
}

func TestParseStatusFilter(t *testing.T) {
	tests := []struct {
		in        string
		want      StatusFilter
		wantStr   string
		wantLabel string
		wantErr   bool
	}{
		{"", StatusAny, "any", "Any", false},
		{"any", StatusAny, "any", "Any", false},
		{" ANY ", StatusAny, "any", "Any", false},
		{"enabled", StatusFilter(StateEnabled), "enabled", "Enabled", false},
		{"Enforced", StatusFilter(StateEnforced), "enforced", "Enforced", false},
		{"DISABLED", StatusFilter(StateDisabled), "disabled", "Disabled", false},
		{"all", StatusAny, "", "", true},
		{"enable", StatusAny, "", "", true},
		{"blocked", StatusAny, "", "", true},
	}
	for _, tt := range tests {
		got, err := ParseStatusFilter(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseStatusFilter(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			continue
		}
		if err != nil {
			checkFieldError(t, "ParseStatusFilter("+tt.in+")", err, "status", tt.in, "any, enabled, enforced or disabled")
			continue
		}
		if s := got.String(); s != tt.wantStr {
			t.Errorf("ParseStatusFilter(%q).String() = %q, want %q", tt.in, s, tt.wantStr)
		}
		if l := got.Label(); l != tt.wantLabel {
			t.Errorf("ParseStatusFilter(%q).Label() = %q, want %q", tt.in, l, tt.wantLabel)
		}
	}
}

// checkFieldError checks that err is EINVALID, names field, quotes what was found and says what was expected.
func checkFieldError(t *testing.T, what string, err error, field, found, expected string) {
	t.Helper()
	if code := ErrorCode(err); code != EINVALID {
		t.Errorf("%s: code %q, want %q", what, code, EINVALID)
	}
	if f := ErrorField(err); f != field {
		t.Errorf("%s: field %q, want %q", what, f, field)
	}
	msg := ErrorMessage(err)
	if found != "" && !strings.Contains(msg, found) {
		t.Errorf("%s: message %q does not name what was found (%q)", what, msg, found)
	}
	if !strings.Contains(msg, expected) {
		t.Errorf("%s: message %q does not say what was expected (%q)", what, msg, expected)
	}
}

func TestUserFilterValidate(t *testing.T) {
	long := strings.Repeat("é", MaxQueryLen)
	tests := []struct {
		name      string
		in        UserFilter
		want      UserFilter // after Validate, when valid
		wantField string     // field at fault, "" when valid
	}{
		{"zero value gets defaults", UserFilter{}, UserFilter{View: ViewAll, Limit: DefaultLimit}, ""},
		{"explicit values kept", UserFilter{View: ViewBlocked, Status: StatusFilter(StateEnforced), Query: "ada", Limit: 7},
			UserFilter{View: ViewBlocked, Status: StatusFilter(StateEnforced), Query: "ada", Limit: 7}, ""},
		{"view normalised", UserFilter{View: " Allowed "}, UserFilter{View: ViewAllowed, Limit: DefaultLimit}, ""},
		{"status normalised", UserFilter{Status: "ENFORCED"}, UserFilter{View: ViewAll, Status: StatusFilter(StateEnforced), Limit: DefaultLimit}, ""},
		{"status any", UserFilter{Status: "any"}, UserFilter{View: ViewAll, Status: StatusAny, Limit: DefaultLimit}, ""},
		{"query trimmed", UserFilter{Query: "  ada lovelace \t"}, UserFilter{View: ViewAll, Query: "ada lovelace", Limit: DefaultLimit}, ""},
		{"limit 1", UserFilter{Limit: 1}, UserFilter{View: ViewAll, Limit: 1}, ""},
		{"limit 1000", UserFilter{Limit: MaxLimit}, UserFilter{View: ViewAll, Limit: MaxLimit}, ""},
		{"query of 100 characters (multi-byte)", UserFilter{Query: long}, UserFilter{View: ViewAll, Query: long, Limit: DefaultLimit}, ""},
		{"query of 100 characters with spaces around", UserFilter{Query: "  " + long + "  "}, UserFilter{View: ViewAll, Query: long, Limit: DefaultLimit}, ""},
		{"after cursor", UserFilter{After: "abc"}, UserFilter{View: ViewAll, Limit: DefaultLimit, After: "abc"}, ""},
		{"before cursor", UserFilter{Before: "abc"}, UserFilter{View: ViewAll, Limit: DefaultLimit, Before: "abc"}, ""},

		{"new filters, sort and order normalised", UserFilter{Privileged: "TRUE", Methods: " Phone-Only ", Sort: "UPN", Order: "Desc"},
			UserFilter{View: ViewAll, Privileged: PrivilegedYes, Methods: MethodsPhoneOnly, Sort: SortUPN, Order: OrderDesc, Limit: DefaultLimit}, ""},
		{"any of the new filters", UserFilter{Privileged: "any", Methods: "ANY", Sort: "status"},
			UserFilter{View: ViewAll, Sort: SortStatus, Limit: DefaultLimit}, ""},
		{"no methods, not admins", UserFilter{Privileged: "false", Methods: "none"},
			UserFilter{View: ViewAll, Privileged: PrivilegedNo, Methods: MethodsNone, Limit: DefaultLimit}, ""},

		{"bad view", UserFilter{View: "everyone"}, UserFilter{}, "view"},
		{"bad privileged", UserFilter{Privileged: "yes"}, UserFilter{}, "privileged"},
		{"bad methods", UserFilter{Methods: "phone"}, UserFilter{}, "methods"},
		{"bad sort", UserFilter{Sort: "display"}, UserFilter{}, "sort"},
		{"bad order", UserFilter{Order: "descending"}, UserFilter{}, "order"},
		{"bad status", UserFilter{Status: "on"}, UserFilter{}, "status"},
		{"limit -1", UserFilter{Limit: -1}, UserFilter{}, "limit"},
		{"limit 1001", UserFilter{Limit: MaxLimit + 1}, UserFilter{}, "limit"},
		{"query of 101 characters", UserFilter{Query: long + "x"}, UserFilter{}, "q"},
		{"both cursors", UserFilter{After: "a", Before: "b"}, UserFilter{}, "cursor"},
	}
	for _, tt := range tests {
		f := tt.in
		err := f.Validate()
		if tt.want.Sort == "" {
			tt.want.Sort = SortName
		}
		if tt.want.Order == "" {
			tt.want.Order = OrderAsc
		}
		if tt.wantField == "" {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
			} else if f != tt.want {
				t.Errorf("%s: after Validate() filter is %+v, want %+v", tt.name, f, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: Validate() = nil, want an error on %q", tt.name, tt.wantField)
			continue
		}
		if ErrorCode(err) != EINVALID || ErrorField(err) != tt.wantField || ErrorMessage(err) == "" {
			t.Errorf("%s: Validate() = %v (code %q, field %q), want EINVALID on %q", tt.name, err, ErrorCode(err), ErrorField(err), tt.wantField)
		}
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Ada", "ada"},
		{"ÉLODIE", "elodie"},
		{"Élodie Lefèvre", "elodie lefevre"},
		{"Chloé", "chloe"},
		{"Zoë", "zoe"},
		{"Ángel Sánchez", "angel sanchez"},
		{"Dąbrowski", "dabrowski"},
		{"Novák", "novak"},
		{"Müller", "muller"},
		{"Søren Sørensen", "soren sorensen"},
		{"SØREN", "soren"},
		{"Straße", "strasse"},
		{"Łukasz Wałęsa", "lukasz walesa"},
		{"Đorđe", "dorde"},
		{"Æsa Œuvre", "aesa oeuvre"},
		{"  Ada   \t Lovelace \n", "ada lovelace"},
		{"O'Brien", "o'brien"},
		{"Dubois-Martin", "dubois-martin"},
		{"Ｆｕｌｌ", "ｆｕｌｌ"},           // fullwidth letters are left alone
		{"e\u0301lodie", "elodie"}, // already decomposed
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := Fold(Fold(tt.in)); got != Fold(tt.in) {
			t.Errorf("Fold is not idempotent on %q: %q then %q", tt.in, Fold(tt.in), got)
		}
	}
}

func TestSearchTerms(t *testing.T) {
	tests := []struct {
		name, upn string
		want      []string
	}{
		{"Ada Lovelace", "Ada.Lovelace@Contoso.com", []string{"ada lovelace", "lovelace", "ada.lovelace@contoso.com"}},
		{"Élodie Dubois-Martin", "elodie@contoso.com", []string{"elodie dubois-martin", "dubois", "martin", "elodie@contoso.com"}},
		{"Søren  Sørensen (IT)", " SOREN@contoso.com ", []string{"soren sorensen (it)", "sorensen", "it", "soren@contoso.com"}},
		{"Madonna", "madonna@contoso.com", []string{"madonna", "madonna@contoso.com"}},
		{"Lee Lee", "lee@contoso.com", []string{"lee lee", "lee", "lee@contoso.com"}},
		{"Smith, John", "john.smith@contoso.com", []string{"smith, john", "john", "john.smith@contoso.com"}},
		{"Patrick O'Brien", "pob@contoso.com", []string{"patrick o'brien", "o", "brien", "pob@contoso.com"}},
	}
	for _, tt := range tests {
		got := SearchTerms(tt.name, tt.upn)
		if !slices.Equal(got, tt.want) {
			t.Errorf("SearchTerms(%q, %q) = %q, want %q", tt.name, tt.upn, got, tt.want)
		}
	}
}

// TestSearchTermsMatch checks what an admin types finds the user: the start of the display name,
// of any later word, or of the user name, whatever the case and accents.
func TestSearchTermsMatch(t *testing.T) {
	terms := SearchTerms("Élodie Lefèvre", "elodie.lefevre@contoso.com")
	matches := func(q string) bool {
		q = Fold(q)
		for _, term := range terms {
			if strings.HasPrefix(term, q) {
				return true
			}
		}
		return false
	}
	for _, q := range []string{"élodie", "ELODIE", "elodie lef", "Lefe", "lefèvre", "elodie.l", "ELODIE.LEFEVRE@CONTOSO"} {
		if !matches(q) {
			t.Errorf("query %q does not match %q", q, terms)
		}
	}
	for _, q := range []string{"odie", "contoso", "fevre", "lefevre elodie"} {
		if matches(q) {
			t.Errorf("query %q unexpectedly matches %q", q, terms)
		}
	}
}

func TestFoldIsSafeConcurrently(t *testing.T) {
	done := make(chan bool)
	for range 8 {
		go func() {
			for range 2000 {
				if Fold("Élodie  Sørensen") != "elodie sorensen" {
					t.Error("wrong fold")
				}
			}
			done <- true
		}()
	}
	for range 8 {
		<-done
	}
}

func TestChoicesParse(t *testing.T) {
	tests := []struct {
		param, in, want string
		wantErr         bool
	}{
		{"privileged", "", "", false},
		{"privileged", "any", "", false},
		{"privileged", "True", "true", false},
		{"privileged", "false", "false", false},
		{"privileged", "1", "", true},
		{"methods", " NONE ", "none", false},
		{"methods", "phone-only", "phone-only", false},
		{"methods", "phone only", "", true},
	}
	for _, tt := range tests {
		i := slices.IndexFunc(Choices, func(c Choice) bool { return c.Param == tt.param })
		got, err := Choices[i].Parse(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%s.Parse(%q) = %q, %v; want %q, error %v", tt.param, tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil {
			checkFieldError(t, tt.param+"="+tt.in, err, tt.param, tt.in, "expected any, ")
		}
	}
	for _, c := range Choices {
		if c.Options[0].Value != "" || c.Options[0].Label != "Any" || c.Label == "" {
			t.Errorf("%s: the first option must be Any (\"\"), and the choice labelled", c.Param)
		}
	}
}

func TestClassifyMethods(t *testing.T) {
	m := func(ts ...MethodType) []Method {
		var out []Method
		for i, t := range ts {
			out = append(out, Method{Type: t, IsDefault: i == 0})
		}
		return out
	}
	tests := []struct {
		ms   []Method
		want MethodsClass
	}{
		{nil, MethodsClassNone},
		{m(MethodMobilePhone), MethodsClassPhoneOnly},
		{m(MethodOfficePhone, MethodAlternateMobilePhone, MethodMobilePhone), MethodsClassPhoneOnly},
		{m(MethodMobilePhone, MethodSoftwareOTP), MethodsClassOther},
		{m(MethodEmail), MethodsClassOther},
		{m(MethodFIDO2), MethodsClassOther},
	}
	for _, tt := range tests {
		if got := ClassifyMethods(tt.ms); got != tt.want {
			t.Errorf("ClassifyMethods(%s) = %d, want %d", FormatMethodList(tt.ms), got, tt.want)
		}
	}
}

func TestParseSort(t *testing.T) {
	for in, want := range map[string]SortField{"": SortName, "NAME": SortName, "upn": SortUPN, " status ": SortStatus} {
		if got, err := ParseSortField(in); got != want || err != nil {
			t.Errorf("ParseSortField(%q) = %q, %v", in, got, err)
		}
	}
	for in, want := range map[string]SortOrder{"": OrderAsc, "ASC": OrderAsc, "desc": OrderDesc} {
		if got, err := ParseSortOrder(in); got != want || err != nil {
			t.Errorf("ParseSortOrder(%q) = %q, %v", in, got, err)
		}
	}
	_, err := ParseSortField("email")
	checkFieldError(t, "sort=email", err, "sort", "email", "name, upn or status")
	_, err = ParseSortOrder("up")
	checkFieldError(t, "order=up", err, "order", "up", "asc or desc")
}
