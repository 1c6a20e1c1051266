package mfa

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func TestParseUserImportGood(t *testing.T) {
	file := "UserPrincipalName,DisplayName,MFA Status,AccountEnabled,Admin,Methods\n" +
		"ada@contoso.com,Ada Lovelace,Enabled,true,false,mobilePhone officePhone\n" +
		"\n" +
		"Bob@Contoso.com, Bob  Builder ,ENFORCED,FALSE,TRUE,microsoftAuthenticatorPush softwareOneTimePasscode fido2\n" +
		"carl@contoso.com,\"Carl, Jr.\",,,,\n" +
		"dora@contoso.com,Dora,disabled,no,yes,  EMAIL  \n" +
		"elodie@contoso.com,Élodie Lefèvre,enabled,1,0,hardwareOneTimePasscode\n"
	want := []ImportUser{
		{2, User{UPN: "ada@contoso.com", DisplayName: "Ada Lovelace", State: StateEnabled, AccountEnabled: true,
			Methods: []Method{{MethodMobilePhone, true}, {MethodOfficePhone, false}}}},
		{4, User{UPN: "Bob@Contoso.com", DisplayName: "Bob  Builder", State: StateEnforced, AccountEnabled: false, Privileged: true,
			Methods: []Method{{MethodAuthenticatorPush, true}, {MethodSoftwareOTP, false}, {MethodFIDO2, false}}}},
		{5, User{UPN: "carl@contoso.com", DisplayName: "Carl, Jr.", State: StateDisabled, AccountEnabled: true}},
		{6, User{UPN: "dora@contoso.com", DisplayName: "Dora", State: StateDisabled, AccountEnabled: false, Privileged: true,
			Methods: []Method{{MethodEmail, true}}}},
		{7, User{UPN: "elodie@contoso.com", DisplayName: "Élodie Lefèvre", State: StateEnabled, AccountEnabled: true,
			Methods: []Method{{MethodHardwareOTP, true}}}},
	}
	allCols := ImportColumns{State: true, AccountEnabled: true, Admin: true, Methods: true}

	variants := []struct {
		name string
		data []byte
	}{
		{"comma", []byte(file)},
		{"CRLF with BOM", append([]byte("\xEF\xBB\xBF"), strings.ReplaceAll(file, "\n", "\r\n")...)},
		{"semicolon", []byte(strings.ReplaceAll(strings.ReplaceAll(file, ",", ";"), "Carl; Jr.", "Carl, Jr."))},
		{"UTF-16LE tab", utf16File(strings.ReplaceAll(strings.ReplaceAll(file, ",", "\t"), "Carl\t Jr.", "Carl, Jr."), false)},
		{"Windows-1252", windows1252(t, file)},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			imp, err := ParseUserImport(bytes.NewReader(v.data), CSVLimits{})
			got, cols := imp.Users, imp.Columns
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if cols != allCols {
				t.Errorf("columns = %+v, want %+v", cols, allCols)
			}
			// The guess is said (the CLI prints it); a file read as it is says nothing.
			if wantNotice := v.name == "Windows-1252"; (imp.Notice != "") != wantNotice || wantNotice && imp.Notice != Windows1252ImportNotice {
				t.Errorf("notice = %q", imp.Notice)
			}
			checkImport(t, got, want)
		})
	}
}

func checkImport(t *testing.T, got, want []ImportUser) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d users %+v, want %d", len(got), got, len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Line != w.Line || g.User.UPN != w.User.UPN || g.User.DisplayName != w.User.DisplayName ||
			g.User.State != w.User.State || g.User.AccountEnabled != w.User.AccountEnabled ||
			g.User.Privileged != w.User.Privileged || !slices.Equal(g.User.Methods, w.User.Methods) {
			t.Errorf("user %d = %+v\nwant      %+v", i, g, w)
		}
	}
}

func TestParseUserImportColumns(t *testing.T) {
	tests := []struct {
		name string
		file string
		cols ImportColumns
		want []ImportUser
	}{
		{"required columns only", "UserPrincipalName,DisplayName\nada@contoso.com,Ada\n", ImportColumns{},
			[]ImportUser{{2, User{UPN: "ada@contoso.com", DisplayName: "Ada", State: StateDisabled, AccountEnabled: true}}}},
		{"any order, any case, extra columns ignored",
			"methods; ADMIN ;Department; mfa  status ;displayname;accountenabled;USERPRINCIPALNAME\n" +
				"officePhone mobilePhone;true;Sales;Enforced;Ada;false;ada@contoso.com\n",
			ImportColumns{State: true, AccountEnabled: true, Admin: true, Methods: true},
			[]ImportUser{{2, User{UPN: "ada@contoso.com", DisplayName: "Ada", State: StateEnforced, AccountEnabled: false, Privileged: true,
				Methods: []Method{{MethodOfficePhone, true}, {MethodMobilePhone, false}}}}}},
		{"some optional columns", "DisplayName\tUserPrincipalName\tAdmin\nAda\tada@contoso.com\ttrue\n", ImportColumns{Admin: true},
			[]ImportUser{{2, User{UPN: "ada@contoso.com", DisplayName: "Ada", State: StateDisabled, AccountEnabled: true, Privileged: true}}}},
		{"short rows give defaults", "UserPrincipalName,DisplayName,MFA Status,Methods\nada@contoso.com,Ada\n",
			ImportColumns{State: true, Methods: true},
			[]ImportUser{{2, User{UPN: "ada@contoso.com", DisplayName: "Ada", State: StateDisabled, AccountEnabled: true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp, err := ParseUserImport(strings.NewReader(tt.file), CSVLimits{})
			got, cols := imp.Users, imp.Columns
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if cols != tt.cols {
				t.Errorf("columns = %+v, want %+v", cols, tt.cols)
			}
			checkImport(t, got, tt.want)
		})
	}
}

func TestParseUserImportMissingColumns(t *testing.T) {
	for _, file := range []string{
		"Username,MFA Status\nada@contoso.com,Enabled\n",
		"UserPrincipalName\nada@contoso.com\n",
		"DisplayName,MFA Status\nAda,Enabled\n",
		"User Principal Name,Display Name\nada@contoso.com,Ada\n",
	} {
		imp, err := ParseUserImport(strings.NewReader(file), CSVLimits{})
		got := imp.Users
		if err == nil || got != nil {
			t.Errorf("%q: got %v, %v; want an error and no users", file, got, err)
			continue
		}
		msg := ErrorMessage(err)
		header := file[:strings.IndexByte(file, '\n')]
		if ErrorCode(err) != EINVALID || !strings.Contains(msg, "UserPrincipalName and DisplayName") || !strings.Contains(msg, header) {
			t.Errorf("%q: error %q (code %q), want EINVALID naming the expected columns and the header found", file, msg, ErrorCode(err))
		}
	}
}

func TestParseUserImportBadLines(t *testing.T) {
	header := "UserPrincipalName,DisplayName,MFA Status,AccountEnabled,Admin,Methods\n"
	good := "good@contoso.com,Good User,Enabled,true,false,mobilePhone\n"
	tests := []struct {
		name  string
		lines string           // after the header and one good line (so the first line here is line 3)
		want  map[int][]string // line → parts of its message
	}{
		{"bad UPN", "not-a-upn,Someone\n", map[int][]string{3: {"not-a-upn", "name@domain"}}},
		{"UPN without domain suffix", "a@localhost,Someone\n", map[int][]string{3: {"domain suffix"}}},
		{"UPN with a space", "\"a b@contoso.com\",Someone\n", map[int][]string{3: {"not allowed"}}},
		{"empty UPN", ",Someone\n", map[int][]string{3: {"empty"}}},
		{"empty display name", "x@contoso.com,\n", map[int][]string{3: {"display name is empty"}}},
		{"duplicate UPN (case-insensitive)", "GOOD@Contoso.COM,Other\n", map[int][]string{3: {"GOOD@Contoso.COM", "already on line 2"}}},
		{"bad state", "x@contoso.com,X,on\n", map[int][]string{3: {`"on"`, "Enabled, Enforced or Disabled"}}},
		{"bad AccountEnabled", "x@contoso.com,X,,maybe\n", map[int][]string{3: {"AccountEnabled", `"maybe"`, "true or false"}}},
		{"bad Admin", "x@contoso.com,X,,,2\n", map[int][]string{3: {"Admin", `"2"`, "true or false"}}},
		{"unknown method", "x@contoso.com,X,,,,mobilePhone sms\n", map[int][]string{3: {`"sms"`, "expected one of", "mobilePhone"}}},
		{"duplicate method", "x@contoso.com,X,,,,mobilePhone MOBILEPHONE\n", map[int][]string{3: {"mobilePhone", "twice"}}},
		{"several bad lines, numbered as in the file", "bad1,X\n\nx@contoso.com,X,on,,,\"mobilePhone\nofficePhone\"\n,,,,,\ny@contoso.com,Y,,,yes,fido2 fido2\nok@contoso.com,OK\nok@contoso.com,OK again\n",
			map[int][]string{3: {"bad1"}, 5: {`"on"`}, 8: {"twice"}, 10: {"already on line 9"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp, err := ParseUserImport(strings.NewReader(header+good+tt.lines), CSVLimits{})
			got := imp.Users
			if got != nil {
				t.Errorf("got %d users with bad lines; want nothing", len(got))
			}
			le, ok := err.(*LineErrors)
			if !ok {
				t.Fatalf("error = %#v, want *LineErrors", err)
			}
			if ErrorCode(err) != EINVALID {
				t.Errorf("code = %q, want %q", ErrorCode(err), EINVALID)
			}
			if le.Total != len(tt.want) || len(le.Errors) != len(tt.want) {
				t.Errorf("%d bad lines %+v, want %d", le.Total, le.Errors, len(tt.want))
			}
			for _, e := range le.Errors {
				parts, ok := tt.want[e.Line]
				if !ok {
					t.Errorf("unexpected bad line %d: %s", e.Line, e.Message)
					continue
				}
				for _, p := range parts {
					if !strings.Contains(e.Message, p) {
						t.Errorf("line %d: message %q does not contain %q", e.Line, e.Message, p)
					}
				}
			}
			if msg := ErrorMessage(err); !strings.Contains(msg, "nothing was changed") {
				t.Errorf("message %q does not say nothing was changed", msg)
			}
		})
	}
}

func TestParseUserImportRefused(t *testing.T) {
	tests := []struct {
		name string
		data string
		lim  CSVLimits
		code string
		want string
	}{
		{"header only", "UserPrincipalName,DisplayName\n", CSVLimits{}, EINVALID, "no users"},
		{"header and blank lines", "UserPrincipalName,DisplayName\n\n,\n\n", CSVLimits{}, EINVALID, "no users"},
		{"empty file", "", CSVLimits{}, EINVALID, "empty"},
		{"unterminated quote", "UserPrincipalName,DisplayName\nada@contoso.com,\"Ada\n", CSVLimits{}, EINVALID, "line 2"},
		{"row limit", "UserPrincipalName,DisplayName\na@contoso.com,A\nb@contoso.com,B\n", CSVLimits{MaxRows: 1}, ETOOLARGE, "more than 1 rows"},
	}
	for _, tt := range tests {
		imp, err := ParseUserImport(strings.NewReader(tt.data), tt.lim)
		got := imp.Users
		if got != nil || err == nil {
			t.Errorf("%s: got %v, %v; want an error and no users", tt.name, got, err)
			continue
		}
		if ErrorCode(err) != tt.code || !strings.Contains(ErrorMessage(err), tt.want) {
			t.Errorf("%s: error %q (code %q), want %s containing %q", tt.name, ErrorMessage(err), ErrorCode(err), tt.code, tt.want)
		}
	}
}

func TestParseMethodList(t *testing.T) {
	tests := []struct {
		in      string
		want    []Method
		wantErr string
	}{
		{"", nil, ""},
		{"   ", nil, ""},
		{"mobilePhone", []Method{{MethodMobilePhone, true}}, ""},
		{"  FIDO2\temail  mobilephone ", []Method{{MethodFIDO2, true}, {MethodEmail, false}, {MethodMobilePhone, false}}, ""},
		{"mobilePhone alternateMobilePhone officePhone microsoftAuthenticatorPush softwareOneTimePasscode hardwareOneTimePasscode fido2 email",
			[]Method{{MethodMobilePhone, true}, {MethodAlternateMobilePhone, false}, {MethodOfficePhone, false}, {MethodAuthenticatorPush, false},
				{MethodSoftwareOTP, false}, {MethodHardwareOTP, false}, {MethodFIDO2, false}, {MethodEmail, false}}, ""},
		{"mobilePhone,officePhone", nil, "unknown method"},
		{"phone", nil, `"phone"`},
		{"email fido2 Email", nil, "listed twice"},
	}
	for _, tt := range tests {
		got, err := ParseMethodList(tt.in)
		if tt.wantErr != "" {
			if err == nil || ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tt.wantErr) {
				t.Errorf("ParseMethodList(%q) = %v, %v; want EINVALID containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseMethodList(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatMethodList(t *testing.T) {
	tests := []struct {
		in   []Method
		want string
	}{
		{nil, ""},
		{[]Method{{MethodEmail, true}}, "email"},
		{[]Method{{MethodMobilePhone, true}, {MethodOfficePhone, false}}, "mobilePhone officePhone"},
		// The default goes first wherever it is.
		{[]Method{{MethodOfficePhone, false}, {MethodFIDO2, false}, {MethodAuthenticatorPush, true}}, "microsoftAuthenticatorPush officePhone fido2"},
		{[]Method{{MethodOfficePhone, false}, {MethodFIDO2, false}}, "officePhone fido2"},
	}
	for _, tt := range tests {
		if got := FormatMethodList(tt.in); got != tt.want {
			t.Errorf("FormatMethodList(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Round trip: parse(format(x)) == x when the default is first, and format(parse(s)) == s.
	for _, s := range []string{"", "email", "fido2 mobilePhone", "softwareOneTimePasscode hardwareOneTimePasscode officePhone alternateMobilePhone"} {
		ms, err := ParseMethodList(s)
		if err != nil {
			t.Fatalf("ParseMethodList(%q): %v", s, err)
		}
		if got := FormatMethodList(ms); got != s {
			t.Errorf("FormatMethodList(ParseMethodList(%q)) = %q", s, got)
		}
		back, err := ParseMethodList(FormatMethodList(ms))
		if err != nil || !slices.Equal(back, ms) {
			t.Errorf("ParseMethodList(FormatMethodList(%v)) = %v, %v", ms, back, err)
		}
		if len(ms) > 0 {
			if d, ok := (&User{Methods: ms}).DefaultMethod(); !ok || d != ms[0].Type {
				t.Errorf("DefaultMethod of %q = %q, %v; want %q", s, d, ok, ms[0].Type)
			}
		}
	}
}

func TestParseMethodType(t *testing.T) {
	for _, m := range MethodTypes {
		for _, s := range []string{string(m), strings.ToUpper(string(m)), " " + strings.ToLower(string(m)) + " "} {
			if got, err := ParseMethodType(s); err != nil || got != m {
				t.Errorf("ParseMethodType(%q) = %q, %v; want %q", s, got, err, m)
			}
		}
		if m.Label() == "" || m.Label() == string(m) {
			t.Errorf("MethodType(%q) has no label", m)
		}
	}
}

func TestParseBoolField(t *testing.T) {
	tests := []struct {
		in       string
		def      bool
		want, ok bool
	}{
		{"", true, true, true},
		{"", false, false, true},
		{"true", false, true, true},
		{" TRUE ", false, true, true},
		{"Yes", false, true, true},
		{"1", false, true, true},
		{"false", true, false, true},
		{"No", true, false, true},
		{"0", true, false, true},
		{"maybe", true, true, false},
		{"2", false, false, false},
	}
	for _, tt := range tests {
		got, ok := parseBoolField(tt.in, tt.def)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseBoolField(%q, %v) = %v, %v; want %v, %v", tt.in, tt.def, got, ok, tt.want, tt.ok)
		}
	}
}

func TestValidateUPNAndDisplayName(t *testing.T) {
	upns := []struct {
		in string
		ok bool
	}{
		{"ada@contoso.com", true},
		{" Ada.Lovelace@Contoso.onmicrosoft.com ", true},
		{strings.Repeat("a", 113) + "@contoso.com", true},
		{"", false},
		{"ada", false},
		{"@contoso.com", false},
		{"ada@", false},
		{"ada@contoso", false},
		{"ada@@contoso.com", false},
		{"a@b@contoso.com", false},
		{"ada lovelace@contoso.com", false},
		{"ada,l@contoso.com", false},
		{"ada;l@contoso.com", false},
		{"ada\x00@contoso.com", false},
		{strings.Repeat("a", 114) + "@contoso.com", false},
		{"a@" + strings.Repeat("b", 250) + ".com", true}, // 256 characters
		{"a@" + strings.Repeat("b", 251) + ".com", false},
	}
	for _, tt := range upns {
		err := ValidateUPN(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateUPN(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && (ErrorCode(err) != EINVALID || ErrorMessage(err) == "") {
			t.Errorf("ValidateUPN(%q): %v (code %q), want EINVALID with a message", tt.in, err, ErrorCode(err))
		}
	}
	names := []struct {
		in string
		ok bool
	}{
		{"Ada Lovelace", true},
		{" Élodie Lefèvre ", true},
		{strings.Repeat("é", 256), true},
		{"", false},
		{"   ", false},
		{strings.Repeat("é", 257), false},
		{"Ada\nLovelace", false},
		{"Ada\x7f", false},
	}
	for _, tt := range names {
		err := ValidateDisplayName(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateDisplayName(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
	if NormalizeUPN("  Ada@Contoso.COM ") != "ada@contoso.com" {
		t.Errorf("NormalizeUPN = %q", NormalizeUPN("  Ada@Contoso.COM "))
	}
}

// windows1252 is s as Excel's "CSV (Comma delimited)" saves it on Windows.
func windows1252(t *testing.T, s string) []byte {
	t.Helper()
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
