package mfa

import (
	"strings"
	"time"
)

// MethodType is a registered authentication method, spelled as in `users import` and the API.
type MethodType string

// The method types of SPEC §1 and §5. The first four are the original page's; the rest are Graph's.
const (
	MethodMobilePhone          MethodType = "mobilePhone"          // authentication phone
	MethodAlternateMobilePhone MethodType = "alternateMobilePhone" // alternate authentication phone
	MethodOfficePhone          MethodType = "officePhone"          // office phone
	MethodAuthenticatorPush    MethodType = "microsoftAuthenticatorPush"
	MethodSoftwareOTP          MethodType = "softwareOneTimePasscode"
	MethodHardwareOTP          MethodType = "hardwareOneTimePasscode"
	MethodFIDO2                MethodType = "fido2"
	MethodEmail                MethodType = "email"
)

// MethodTypes lists every known method type in display order.
var MethodTypes = []MethodType{
	MethodMobilePhone, MethodAlternateMobilePhone, MethodOfficePhone, MethodAuthenticatorPush,
	MethodSoftwareOTP, MethodHardwareOTP, MethodFIDO2, MethodEmail,
}

// ParseMethodType matches a method type name case-insensitively.
func ParseMethodType(s string) (MethodType, error) {
	for _, m := range MethodTypes {
		if strings.EqualFold(string(m), strings.TrimSpace(s)) {
			return m, nil
		}
	}
	return "", Errorf(EINVALID, "unknown method %q: expected one of %s", truncate(s, 40), methodList())
}

func methodList() string {
	names := make([]string, len(MethodTypes))
	for i, m := range MethodTypes {
		names[i] = string(m)
	}
	return strings.Join(names, " ")
}

// Label is the method as an admin reads it.
func (m MethodType) Label() string {
	switch m {
	case MethodMobilePhone:
		return "Authentication phone"
	case MethodAlternateMobilePhone:
		return "Alternate authentication phone"
	case MethodOfficePhone:
		return "Office phone"
	case MethodAuthenticatorPush:
		return "Mobile app notification"
	case MethodSoftwareOTP:
		return "Mobile app verification code"
	case MethodHardwareOTP:
		return "Hardware token code"
	case MethodFIDO2:
		return "FIDO2 security key"
	case MethodEmail:
		return "Email"
	}
	return string(m)
}

// Method is one registered authentication method of a user.
type Method struct {
	Type      MethodType `json:"type"`
	IsDefault bool       `json:"isDefault"`
}

// User is a directory user as the portal sees it (SPEC §1).
type User struct {
	ID             string // stable backend id
	UPN            string // user principal name: unique, compared case-insensitively
	DisplayName    string
	AccountEnabled bool // sign-in allowed
	Privileged     bool // holds an admin role
	State          State
	Methods        []Method // the default method first
	AppPasswords   int
	// RememberedDevicesNotBefore: devices remembered before this time must do MFA again (zero: never reset).
	RememberedDevicesNotBefore time.Time
	// HadMethodsWhenReenabled is true when the user was re-enabled after being disabled while still
	// holding registration details: they stay Enabled until they register again (SPEC §1).
	HadMethodsWhenReenabled bool
	StateReadAt             time.Time // when the state was last read from the directory of record
	// EnabledAt is when the user was last moved to Enabled (zero when not Enabled), kept by the
	// store on every change (EnabledSince): for the registration tracker.
	EnabledAt time.Time
	// Coverage is whether Conditional Access or security defaults require the user's MFA (SPEC
	// §11): the zero value where not known (the embedded directory has no Conditional Access).
	Coverage Coverage
	Version  int64 // increases on every change; used for optimistic concurrency
}

// DefaultMethod returns the user's default method, if any.
func (u *User) DefaultMethod() (MethodType, bool) {
	for _, m := range u.Methods {
		if m.IsDefault {
			return m.Type, true
		}
	}
	return "", false
}

// HasMethods reports whether the user has registered any method.
func (u *User) HasMethods() bool { return len(u.Methods) > 0 }

// MaxAppPasswords is the most app passwords a user may hold.
const MaxAppPasswords = 40

// NormalizeUPN returns the key under which a UPN is unique: trimmed and lower-cased.
func NormalizeUPN(upn string) string { return strings.ToLower(strings.TrimSpace(upn)) }

// ValidateUPN checks the shape of a user principal name: local@domain, no spaces, at most 113
// characters before the @ and 256 in all (Entra's limits).
func ValidateUPN(upn string) error {
	upn = strings.TrimSpace(upn)
	if upn == "" {
		return Errorf(EINVALID, "user name is empty: expected name@domain")
	}
	if len(upn) > 256 {
		return Errorf(EINVALID, "user name is %d characters long: at most 256 allowed", len(upn))
	}
	at := strings.LastIndexByte(upn, '@')
	if at <= 0 || at == len(upn)-1 || strings.Count(upn, "@") != 1 {
		return Errorf(EINVALID, "user name %q is not of the form name@domain", truncate(upn, 60))
	}
	if at > 113 {
		return Errorf(EINVALID, "user name %q has more than 113 characters before the @", truncate(upn, 60))
	}
	for _, r := range upn {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`"\<>()[],;:`, r) {
			return Errorf(EINVALID, "user name %q contains the character %q, which is not allowed", truncate(upn, 60), r)
		}
	}
	if !strings.Contains(upn[at+1:], ".") {
		return Errorf(EINVALID, "user name %q has no domain suffix after the @ (expected e.g. contoso.com)", truncate(upn, 60))
	}
	return nil
}

// ValidateDisplayName checks a display name: not empty, at most 256 characters, no control characters.
func ValidateDisplayName(name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return Errorf(EINVALID, "display name is empty")
	}
	if n := len([]rune(name)); n > 256 {
		return Errorf(EINVALID, "display name is %d characters long: at most 256 allowed", n)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return Errorf(EINVALID, "display name %q contains a control character", truncate(name, 60))
		}
	}
	return nil
}
