package mfa

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseRanges(t *testing.T) {
	cases := []struct {
		name, text string
		public     bool
		want       []string
		err        string // part of the first error, "" for none
	}{
		{"good", "203.0.113.0/24\n\n 198.51.100.7/32 \r\n", true, []string{"203.0.113.0/24", "198.51.100.7/32"}, ""},
		{"malformed", "203.0.113.0/24\n203.0.113/24", false, nil, "line 2: \"203.0.113/24\" is not an IPv4 range"},
		{"no prefix", "198.51.100.7", false, nil, "write 198.51.100.7/32"},
		{"ipv6", "2001:db8::/32", false, nil, "line 1: \"2001:db8::/32\" is an IPv6 range"},
		{"host bits", "203.0.113.5/24", false, nil, "host bits set: the range starts at 203.0.113.0/24"},
		{"everything", "0.0.0.0/0", false, nil, "covers every address"},
		{"bad prefix", "203.0.113.0/33", false, nil, "not an IPv4 range"},
		{"duplicate", "203.0.113.0/24\n198.51.100.0/24\n203.0.113.0/24", false, nil, "line 3: \"203.0.113.0/24\" is already on line 1"},
		{"private in cloud", "10.1.0.0/16", true, nil, "private or reserved range (10.0.0.0/8)"},
		{"private on premises", "10.1.0.0/16\n192.168.0.0/24", false, []string{"10.1.0.0/16", "192.168.0.0/24"}, ""},
		{"overlaps private", "8.0.0.0/5", true, nil, "private or reserved"},
		{"garbage", "<script>", false, nil, "line 1: \"<script>\" is not an IPv4 range"},
	}
	for _, c := range cases {
		got, errs := ParseRanges(c.text, c.public)
		if c.err == "" {
			if len(errs) > 0 || strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("%s: %v %v", c.name, got, errs)
			}
			continue
		}
		if len(errs) == 0 || !strings.Contains(errs[0].Message, c.err) || errs[0].Field != FieldRanges {
			t.Errorf("%s: errors %v, want %q", c.name, errs, c.err)
		}
	}
	var many []string
	for i := range 51 {
		many = append(many, fmt.Sprintf("203.0.%d.0/24", i))
	}
	if _, errs := ParseRanges(strings.Join(many, "\n"), true); len(errs) != 1 || !strings.Contains(errs[0].Message, "51 ranges: at most 50") {
		t.Errorf("51 ranges: %v", errs)
	}
	if got, errs := ParseRanges(strings.Join(many[:50], "\n"), true); len(errs) != 0 || len(got) != 50 {
		t.Errorf("50 ranges: %d %v", len(got), errs)
	}
}

func TestSettingsValidate(t *testing.T) {
	s := DefaultSettings()
	if errs := s.Validate(AllCapabilities()); len(errs) != 0 {
		t.Fatalf("defaults: %v", errs)
	}
	if s.AppPasswordsAllowed || s.TrustedIPs.SkipForRanges || s.RememberMFA.Enabled || s.RememberMFA.Days != 14 ||
		s.VerificationOptions != (VerificationOptions{true, true, true, true}) {
		t.Fatalf("defaults are not SPEC's: %+v", s)
	}
	for _, days := range []int{0, 366, -1} {
		s := DefaultSettings()
		s.RememberMFA.Days = days
		if errs := s.Validate(AllCapabilities()); errs.For(FieldRememberDays) == "" {
			t.Errorf("days %d accepted", days)
		}
	}
	for _, days := range []int{1, 365} {
		s := DefaultSettings()
		s.RememberMFA.Days = days
		if errs := s.Validate(AllCapabilities()); len(errs) != 0 {
			t.Errorf("days %d refused: %v", days, errs)
		}
	}
	s = DefaultSettings()
	s.VerificationOptions = VerificationOptions{}
	if errs := s.Validate(AllCapabilities()); errs.For(FieldVerificationOptions) == "" {
		t.Error("no verification option accepted")
	}
	s = DefaultSettings()
	s.TrustedIPs.SkipForRanges = true
	if errs := s.Validate(AllCapabilities()); errs.For(FieldRanges) == "" {
		t.Error("skip for ranges without ranges accepted")
	}
	// Several problems are all reported.
	s = DefaultSettings()
	s.VerificationOptions, s.RememberMFA.Days, s.TrustedIPs.Ranges = VerificationOptions{}, 0, []string{"nope"}
	if errs := s.Validate(AllCapabilities()); len(errs) != 3 {
		t.Errorf("three errors, got %v", errs)
	}
}

func TestSettingsEffects(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	s := DefaultSettings()
	u := &User{UPN: "u@contoso.com", State: StateEnforced, AppPasswords: 3, Methods: []Method{{Type: MethodMobilePhone, IsDefault: true}}}
	if AppPasswordAllowed(s, u) == nil {
		t.Error("app password allowed by default")
	}
	s.AppPasswordsAllowed = true
	if err := AppPasswordAllowed(s, u); err != nil {
		t.Error(err)
	}
	u.AppPasswords = MaxAppPasswords
	if AppPasswordAllowed(s, u) == nil {
		t.Error("a 41st app password allowed")
	}
	v := VerificationOptions{SMS: true}
	for m, ok := range map[MethodType]bool{MethodMobilePhone: true, MethodOfficePhone: false, MethodAuthenticatorPush: false, MethodSoftwareOTP: false, MethodFIDO2: true} {
		if (MethodAllowed(v, m) == nil) != ok {
			t.Errorf("%s with SMS only: allowed=%v", m, !ok)
		}
	}
	// Remembered devices: off by default; then trusted for the days allowed, after the cut-off only.
	rememberedAt := now.Add(-3 * 24 * time.Hour)
	if DeviceTrusted(s, u, rememberedAt, now) {
		t.Error("trusted while remembering is off")
	}
	s.RememberMFA = RememberMFA{Enabled: true, Days: 14}
	if !DeviceTrusted(s, u, rememberedAt, now) {
		t.Error("a 3-day-old device is not trusted with 14 days")
	}
	s.RememberMFA.Days = 2
	if DeviceTrusted(s, u, rememberedAt, now) {
		t.Error("a 3-day-old device is trusted with 2 days")
	}
	s.RememberMFA.Days = 14
	u.RememberedDevicesNotBefore = now.Add(-time.Hour)
	if DeviceTrusted(s, u, rememberedAt, now) {
		t.Error("a device remembered before the cut-off is trusted")
	}
	// Trusted addresses: a range, or the federated intranet, each only when its option is on.
	s.TrustedIPs = TrustedIPs{SkipForRanges: true, Ranges: []string{"203.0.113.0/24"}}
	in := SignIn{IP: netip.MustParseAddr("203.0.113.9"), Now: now}
	if ok, why := TrustedAddress(s, in); !ok || !strings.Contains(why, "203.0.113.0/24") {
		t.Errorf("from a trusted range: %v %s", ok, why)
	}
	in.IP = netip.MustParseAddr("::ffff:203.0.113.9")
	if ok, _ := TrustedAddress(s, in); !ok {
		t.Error("an IPv4-mapped address in a trusted range is not trusted")
	}
	in.IP = netip.MustParseAddr("198.51.100.1")
	if ok, _ := TrustedAddress(s, in); ok {
		t.Error("an address outside the ranges is trusted")
	}
	in.FederatedIntranet = true
	if ok, _ := TrustedAddress(s, in); ok {
		t.Error("federated intranet skipped while the option is off")
	}
	s.TrustedIPs.SkipForFederatedIntranet = true
	if ok, _ := TrustedAddress(s, in); !ok {
		t.Error("federated intranet not skipped")
	}
}
