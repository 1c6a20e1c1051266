package mfa

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Settings are the service settings of SPEC §1: one page, one save.
type Settings struct {
	AppPasswordsAllowed bool                `json:"appPasswordsAllowed"`
	TrustedIPs          TrustedIPs          `json:"trustedIps"`
	VerificationOptions VerificationOptions `json:"verificationOptions"`
	RememberMFA         RememberMFA         `json:"rememberMfa"`
}

// TrustedIPs are the trusted ips section.
type TrustedIPs struct {
	SkipForFederatedIntranet bool     `json:"skipForFederatedIntranet"`
	SkipForRanges            bool     `json:"skipForRanges"`
	Ranges                   []string `json:"ranges"` // IPv4 CIDR ranges, normalized
}

// MarshalJSON writes no ranges as [] rather than null: "ranges" is a list (SPEC §5), whichever
// path left the slice nil (an empty save, a document stored that way before).
func (t TrustedIPs) MarshalJSON() ([]byte, error) {
	type plain TrustedIPs
	if t.Ranges == nil {
		t.Ranges = []string{}
	}
	return json.Marshal(plain(t))
}

// VerificationOptions are the methods users may verify with.
type VerificationOptions struct {
	Call            bool `json:"call"`
	SMS             bool `json:"sms"`
	AppNotification bool `json:"appNotification"`
	AppCode         bool `json:"appCode"`
}

// RememberMFA is the remember multi-factor authentication section.
type RememberMFA struct {
	Enabled bool `json:"enabled"`
	Days    int  `json:"days"`
}

// Limits of the service settings.
const (
	MaxTrustedRanges    = 50
	MinRememberDays     = 1
	MaxRememberDays     = 365
	DefaultRememberDays = 14
)

// DefaultSettings are a fresh install's: app passwords not allowed, no trusted IPs, all four
// verification options on, remembering off with 14 days.
func DefaultSettings() Settings {
	return Settings{
		TrustedIPs:          TrustedIPs{Ranges: []string{}},
		VerificationOptions: VerificationOptions{Call: true, SMS: true, AppNotification: true, AppCode: true},
		RememberMFA:         RememberMFA{Days: DefaultRememberDays},
	}
}

// Capability says whether a backend can apply a setting, and why not.
type Capability struct {
	Available bool
	Reason    string // shown next to the read-only setting when not available
}

// Capabilities are what a directory backend can do; the pages show unavailable settings read-only
// with the reason, so they need no backend-specific cases.
type Capabilities struct {
	AppPasswords        Capability // the app passwords policy and deleting a user's app passwords
	TrustedIPs          Capability
	VerificationOptions Capability
	RememberMFA         Capability // the remember-days setting and restoring MFA on remembered devices
	// PublicRangesOnly: the directory is Microsoft's cloud, where private ranges mean nothing.
	PublicRangesOnly bool
	// StepUsers is the most users one quick step acts on (0: MaxStepUsers), and StepUsersReason
	// why, when lower: a quick step runs while the admin waits, a bulk update in the background.
	StepUsers       int
	StepUsersReason string
	// ConditionalAccess: the directory knows each user's Conditional Access coverage (Microsoft
	// Graph): the coverage filter, column and warnings, and the move to Conditional Access page.
	ConditionalAccess bool
}

// MaxStep is the most users one quick step acts on.
func (c Capabilities) MaxStep() int {
	if c.StepUsers > 0 {
		return c.StepUsers
	}
	return MaxStepUsers
}

// AllCapabilities is the embedded directory's: everything.
func AllCapabilities() Capabilities {
	yes := Capability{Available: true}
	return Capabilities{AppPasswords: yes, TrustedIPs: yes, VerificationOptions: yes, RememberMFA: yes}
}

// FieldErrors are the validation errors of a form, each naming its field.
type FieldErrors []FieldError

// FieldError is what is wrong with one field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"error"`
}

func (e FieldErrors) Error() string {
	msgs := make([]string, len(e))
	for i, f := range e {
		msgs[i] = f.Message
	}
	return strings.Join(msgs, "; ")
}

// For returns the message for a field, "" if it has none.
func (e FieldErrors) For(field string) string {
	for _, f := range e {
		if f.Field == field {
			return f.Message
		}
	}
	return ""
}

// AsError is the first error as an *Error, for APIs that name one field.
func (e FieldErrors) AsError() error {
	if len(e) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Field: e[0].Field, Message: e.Error()}
}

// Field names of the settings, as the API and the page use them.
const (
	FieldRanges              = "trustedIps.ranges"
	FieldVerificationOptions = "verificationOptions"
	FieldRememberDays        = "rememberMfa.days"
)

var specialRanges = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
		"100.64.0.0/10", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// ParseRanges reads the trusted ips text area: one IPv4 CIDR range a line, blank lines ignored.
// It refuses, naming the line: malformed ranges, IPv6, host bits set, a range covering every
// address, duplicates, more than 50, and, where publicOnly, private or reserved ranges.
func ParseRanges(text string, publicOnly bool) ([]string, FieldErrors) {
	var errs FieldErrors
	var out []string
	seen := map[netip.Prefix]int{}
	add := func(line int, format string, args ...any) {
		errs = append(errs, FieldError{Field: FieldRanges, Message: fmt.Sprintf("line %d: ", line) + fmt.Sprintf(format, args...)})
	}
	for i, raw := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line := i + 1
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil && a.Is4() {
				add(line, "%q has no prefix length: write %s/32 for one address", truncate(s, 60), s)
			} else {
				add(line, "%q is not an IPv4 range: expected an address and a prefix length, e.g. 203.0.113.0/24", truncate(s, 60))
			}
			continue
		}
		if !p.Addr().Is4() {
			add(line, "%q is an IPv6 range: only IPv4 ranges are supported", truncate(s, 60))
			continue
		}
		if p.Masked() != p {
			add(line, "%q has host bits set: the range starts at %s", s, p.Masked())
			continue
		}
		if p.Bits() == 0 {
			add(line, "%q covers every address: it would skip multi-factor authentication for everyone", s)
			continue
		}
		if publicOnly {
			if bad := slices.IndexFunc(specialRanges, func(r netip.Prefix) bool { return r.Overlaps(p) }); bad >= 0 {
				add(line, "%q is a private or reserved range (%s): Microsoft's cloud only sees public addresses", s, specialRanges[bad])
				continue
			}
		}
		if first, dup := seen[p]; dup {
			add(line, "%q is already on line %d", s, first)
			continue
		}
		seen[p] = line
		out = append(out, p.String())
	}
	if len(out) > MaxTrustedRanges {
		errs = append(errs, FieldError{Field: FieldRanges, Message: fmt.Sprintf("%d ranges: at most %d are allowed", len(out), MaxTrustedRanges)})
	}
	if coversEveryIPv4(out) {
		errs = append(errs, FieldError{Field: FieldRanges, Message: "these ranges together cover every IPv4 address: they would skip multi-factor authentication for everyone"})
	}
	return out, errs
}

// Validate checks and normalizes the settings for a backend's capabilities.
func (s *Settings) Validate(caps Capabilities) FieldErrors {
	var errs FieldErrors
	if s.TrustedIPs.Ranges == nil {
		s.TrustedIPs.Ranges = []string{}
	}
	ranges, rerrs := ParseRanges(strings.Join(s.TrustedIPs.Ranges, "\n"), caps.PublicRangesOnly)
	errs = append(errs, rerrs...)
	if len(rerrs) == 0 {
		s.TrustedIPs.Ranges = ranges
	}
	if s.TrustedIPs.SkipForRanges && len(s.TrustedIPs.Ranges) == 0 && len(rerrs) == 0 {
		errs = append(errs, FieldError{Field: FieldRanges, Message: "enter at least one range, or clear \"Skip multi-factor authentication for requests from following range of IP address subnets\""})
	}
	v := s.VerificationOptions
	if !v.Call && !v.SMS && !v.AppNotification && !v.AppCode {
		errs = append(errs, FieldError{Field: FieldVerificationOptions, Message: "select at least one verification option"})
	}
	if d := s.RememberMFA.Days; d < MinRememberDays || d > MaxRememberDays {
		errs = append(errs, FieldError{Field: FieldRememberDays, Message: fmt.Sprintf("the number of days must be from %d to %d, found %d", MinRememberDays, MaxRememberDays, d)})
	}
	return errs
}

// describeChanges lists what differs between two settings, for the audit record.
func describeChanges(a, b Settings) (before, after string) {
	var bs, as []string
	diff := func(name string, x, y any) {
		xs, ys := fmt.Sprint(x), fmt.Sprint(y)
		if xs != ys {
			bs, as = append(bs, name+": "+xs), append(as, name+": "+ys)
		}
	}
	diff("app passwords allowed", a.AppPasswordsAllowed, b.AppPasswordsAllowed)
	diff("skip for federated intranet", a.TrustedIPs.SkipForFederatedIntranet, b.TrustedIPs.SkipForFederatedIntranet)
	diff("skip for ranges", a.TrustedIPs.SkipForRanges, b.TrustedIPs.SkipForRanges)
	diff("ranges", strings.Join(a.TrustedIPs.Ranges, " "), strings.Join(b.TrustedIPs.Ranges, " "))
	diff("call to phone", a.VerificationOptions.Call, b.VerificationOptions.Call)
	diff("text message to phone", a.VerificationOptions.SMS, b.VerificationOptions.SMS)
	diff("notification through mobile app", a.VerificationOptions.AppNotification, b.VerificationOptions.AppNotification)
	diff("verification code from mobile app or hardware token", a.VerificationOptions.AppCode, b.VerificationOptions.AppCode)
	diff("remember multi-factor authentication", a.RememberMFA.Enabled, b.RememberMFA.Enabled)
	diff("remember days", a.RememberMFA.Days, b.RememberMFA.Days)
	return strings.Join(bs, "; "), strings.Join(as, "; ")
}

// SettingsStore keeps the service settings of a backend.
type SettingsStore interface {
	// Capabilities are what this backend can apply.
	Capabilities() Capabilities
	// LoadSettings returns the current settings (the defaults if never saved).
	LoadSettings(ctx context.Context) (Settings, error)
	// SaveSettings runs fn on the current settings and stores what it returns together with its
	// audit record, atomically; a nil record means no change.
	SaveSettings(ctx context.Context, fn func(cur Settings) (Settings, *AuditRecord, error)) (Settings, error)
}

// GetSettings returns the service settings and what the backend can apply.
func (s *Service) GetSettings(ctx context.Context, actor Actor) (Settings, Capabilities, error) {
	if err := actor.Require(PermView); err != nil {
		return Settings{}, Capabilities{}, err
	}
	cur, err := s.Settings.LoadSettings(ctx)
	return cur, s.Settings.Capabilities(), err
}

// SaveSettings validates and saves the service settings: all or nothing, one audit record with what
// changed. Settings the backend cannot apply keep their current value; trying to change one is
// EINVALID naming the field. It answers the saved settings and whether anything changed; invalid
// settings are FieldErrors.
func (s *Service) SaveSettings(ctx context.Context, actor Actor, next Settings, source string) (Settings, bool, error) {
	if err := actor.Require(PermSaveSettings); err != nil {
		return Settings{}, false, err
	}
	caps := s.Settings.Capabilities()
	if errs := next.Validate(caps); len(errs) > 0 {
		return Settings{}, false, errs
	}
	changed := false
	saved, err := s.Settings.SaveSettings(ctx, func(cur Settings) (Settings, *AuditRecord, error) {
		var errs FieldErrors
		keep := func(available Capability, field string, same bool) {
			if !available.Available && !same {
				errs = append(errs, FieldError{Field: field, Message: "this setting cannot be changed here: " + available.Reason})
			}
		}
		keep(caps.AppPasswords, "appPasswordsAllowed", cur.AppPasswordsAllowed == next.AppPasswordsAllowed)
		keep(caps.TrustedIPs, "trustedIps", fmt.Sprint(cur.TrustedIPs) == fmt.Sprint(next.TrustedIPs))
		keep(caps.VerificationOptions, FieldVerificationOptions, cur.VerificationOptions == next.VerificationOptions)
		keep(caps.RememberMFA, "rememberMfa", cur.RememberMFA == next.RememberMFA)
		if len(errs) > 0 {
			return cur, nil, errs
		}
		before, after := describeChanges(cur, next)
		if before == "" && after == "" {
			return cur, nil, nil
		}
		changed = true
		rec := NewAuditRecord(actor, source, "", s.now())
		rec.Action, rec.Target, rec.Before, rec.After = AuditSaveSettings, "service settings", before, after
		return next, &rec, nil
	})
	if err != nil {
		return Settings{}, false, err
	}
	return saved, changed, nil
}

// ErrAppPasswordsNotAllowed is what a user reads when the service settings do not allow app passwords.
const ErrAppPasswordsNotAllowed = "Your organization does not allow app passwords"

// AppPasswordAllowed answers nil when the user may create one more app password.
func AppPasswordAllowed(settings Settings, u *User) error {
	if !settings.AppPasswordsAllowed {
		return Errorf(EFORBIDDEN, "%s: existing ones keep working until they are deleted", ErrAppPasswordsNotAllowed)
	}
	if u.AppPasswords >= MaxAppPasswords {
		return Errorf(EINVALID, "%s already has %d app passwords, the most allowed: delete one first", u.UPN, MaxAppPasswords)
	}
	return nil
}

// MethodAllowed answers nil when a method may be newly registered under the verification options:
// phones need "Call to phone" or "Text message to phone" (an office phone takes calls only), the
// authenticator app's notifications need "Notification through mobile app", codes need
// "Verification code from mobile app or hardware token". FIDO2 keys and email are not governed by
// these options.
func MethodAllowed(v VerificationOptions, m MethodType) error {
	ok := true
	switch m {
	case MethodMobilePhone, MethodAlternateMobilePhone:
		ok = v.Call || v.SMS
	case MethodOfficePhone:
		ok = v.Call
	case MethodAuthenticatorPush:
		ok = v.AppNotification
	case MethodSoftwareOTP, MethodHardwareOTP:
		ok = v.AppCode
	}
	if !ok {
		return Errorf(EFORBIDDEN, "%s cannot be registered: its verification option is turned off in the service settings", m.Label())
	}
	return nil
}

// DeviceTrusted reports whether a device the user remembered at rememberedAt still skips MFA now:
// remembering must be on, the device remembered after the user's cut-off, and within the days allowed.
func DeviceTrusted(s Settings, u *User, rememberedAt, now time.Time) bool {
	if !s.RememberMFA.Enabled || rememberedAt.IsZero() || rememberedAt.After(now) {
		return false
	}
	if !u.RememberedDevicesNotBefore.IsZero() && !rememberedAt.After(u.RememberedDevicesNotBefore) {
		return false
	}
	return now.Sub(rememberedAt) < time.Duration(s.RememberMFA.Days)*24*time.Hour
}

// TrustedAddress reports whether a sign-in comes from where the trusted ips settings skip the
// second step: a federated request from the intranet (when that option is on), or an address in
// one of the trusted ranges (when that option is on). It answers why, for the log.
func TrustedAddress(s Settings, in SignIn) (bool, string) {
	if s.TrustedIPs.SkipForFederatedIntranet && in.FederatedIntranet {
		return true, "federated request from the intranet (trusted ips)"
	}
	if s.TrustedIPs.SkipForRanges && in.IP.IsValid() {
		addr := in.IP.Unmap()
		for _, r := range s.TrustedIPs.Ranges {
			if p, err := netip.ParsePrefix(r); err == nil && p.Contains(addr) {
				return true, "request from trusted range " + r
			}
		}
	}
	return false, ""
}
