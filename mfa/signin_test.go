package mfa

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// TestDecideEveryCombination walks every combination of state, registration, client address and
// remembered device, and checks Decide against SPEC §7 read literally.
func TestDecideEveryCombination(t *testing.T) {
	now := time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)
	phone := []Method{{Type: MethodMobilePhone, IsDefault: true}}
	type registration struct {
		name      string
		methods   []Method
		reenabled bool
	}
	registrations := []registration{
		{"no methods", nil, false},
		{"registered", phone, false},
		{"re-enabled holding old methods", phone, true},
	}
	type address struct {
		name    string
		ip      string
		ranges  bool // "Skip ... for requests from following range of IP address subnets"
		fed     bool // "Skip ... for requests from federated users on my intranet"
		fedReq  bool // the request says it is federated from the intranet
		trusted bool
	}
	addresses := []address{
		{"no address", "", true, true, false, false},
		{"outside the ranges", "198.51.100.1", true, false, false, false},
		{"in a range", "203.0.113.7", true, false, false, true},
		{"in a range, option off", "203.0.113.7", false, false, false, false},
		{"federated intranet", "198.51.100.1", false, true, true, true},
		{"federated intranet, option off", "198.51.100.1", false, false, true, false},
	}
	type device struct {
		name      string
		remember  bool
		days      int
		at        time.Time
		notBefore time.Time
		trusted   bool
	}
	devices := []device{
		{"no remembered device", true, 14, time.Time{}, time.Time{}, false},
		{"remembered 3 days ago, 14 days", true, 14, now.AddDate(0, 0, -3), time.Time{}, true},
		{"remembered 3 days ago, remembering off", false, 14, now.AddDate(0, 0, -3), time.Time{}, false},
		{"remembered 3 days ago, days lowered to 2", true, 2, now.AddDate(0, 0, -3), time.Time{}, false},
		{"remembered before the admin's restore", true, 14, now.AddDate(0, 0, -3), now.AddDate(0, 0, -1), false},
		{"remembered after the admin's restore", true, 14, now.AddDate(0, 0, -1), now.AddDate(0, 0, -2), true},
		{"remembered in the future (clock skew)", true, 14, now.Add(time.Hour), time.Time{}, false},
	}
	n := 0
	for _, state := range States {
		for _, reg := range registrations {
			for _, addr := range addresses {
				for _, dev := range devices {
					n++
					s := DefaultSettings()
					s.TrustedIPs = TrustedIPs{SkipForRanges: addr.ranges, SkipForFederatedIntranet: addr.fed, Ranges: []string{"203.0.113.0/24"}}
					s.RememberMFA = RememberMFA{Enabled: dev.remember, Days: dev.days}
					u := &User{UPN: "u@contoso.com", State: state, Methods: reg.methods, HadMethodsWhenReenabled: reg.reenabled,
						RememberedDevicesNotBefore: dev.notBefore}
					in := SignIn{RememberedAt: dev.at, Now: now, FederatedIntranet: addr.fedReq}
					if addr.ip != "" {
						in.IP = netip.MustParseAddr(addr.ip)
					}
					// SPEC §7, read literally.
					var want Need
					switch {
					case state == StateDisabled:
						want = NeedNothing
					case reg.methods == nil, state == StateEnabled && reg.reenabled:
						want = NeedRegistration
					case addr.trusted || dev.trusted:
						want = NeedNothing
					default:
						want = NeedCode
					}
					name := fmt.Sprintf("%s / %s / %s / %s", state.Label(), reg.name, addr.name, dev.name)
					got := Decide(s, u, in)
					if got.Need != want {
						t.Errorf("%s: %s (%s), want %s", name, got.Need, got.Reason, want)
					}
					if got.Reason == "" {
						t.Errorf("%s: no reason", name)
					}
				}
			}
		}
	}
	if n != 3*3*6*7 {
		t.Fatalf("walked %d combinations", n)
	}
}

func TestRegistered(t *testing.T) {
	phone := []Method{{Type: MethodMobilePhone, IsDefault: true}}
	for _, tt := range []struct {
		u    User
		want bool
	}{
		{User{State: StateEnabled}, false},
		{User{State: StateEnabled, Methods: phone}, true},
		{User{State: StateEnabled, Methods: phone, HadMethodsWhenReenabled: true}, false},
		{User{State: StateEnforced, Methods: phone}, true},
		{User{State: StateEnforced}, false},
		{User{State: StateDisabled, Methods: phone}, true},
	} {
		if got := Registered(&tt.u); got != tt.want {
			t.Errorf("%+v: %v", tt.u, got)
		}
	}
}
