package mfa

import (
	"net/netip"
	"time"
)

// SignIn describes a user's sign-in attempt after a correct password: where it comes from and
// whether the browser holds a remembered-device cookie of this user.
type SignIn struct {
	IP                netip.Addr
	FederatedIntranet bool      // the federation server says the request comes from the intranet (never on the embedded directory)
	RememberedAt      time.Time // when this browser was remembered for the user; zero if not
	Now               time.Time
}

// Need is what a sign-in needs after the password: one of three outcomes (SPEC §7).
type Need string

// The three outcomes of a sign-in.
const (
	NeedNothing      Need = "signed-in"    // signed in
	NeedRegistration Need = "registration" // More information required: register a method first
	NeedCode         Need = "code"         // Enter code: the second step
)

// Decision is the answer to a sign-in: what it needs, and why (for the log, never shown as a secret).
type Decision struct {
	Need   Need
	Reason string
}

// Registered reports whether the user has completed registration: they hold methods, and were
// not re-enabled while holding them (SPEC §1: such a user stays Enabled until they register again).
func Registered(u *User) bool {
	return u.HasMethods() && !(u.State == StateEnabled && u.HadMethodsWhenReenabled)
}

// Decide is the one answer to "what does this sign-in need?", from the user's state and methods,
// the service settings, the client address and the remembered device:
//
//   - Disabled: nothing more.
//   - Not registered (Enabled without methods or re-enabled holding old ones; Enforced without
//     methods, e.g. after "Require selected users to provide contact methods again"):
//     registration. Trusted addresses and remembered devices do not skip it: there is no second
//     step yet to skip.
//   - Registered (Enabled or Enforced): the code, unless the request comes from a trusted address
//     (TrustedAddress) or from a device remembered and still trusted (DeviceTrusted).
func Decide(s Settings, u *User, in SignIn) Decision {
	if u.State == StateDisabled {
		return Decision{NeedNothing, "per-user MFA is disabled for this user"}
	}
	if !Registered(u) {
		return Decision{NeedRegistration, "the user must register for multi-factor authentication"}
	}
	if ok, why := TrustedAddress(s, in); ok {
		return Decision{NeedNothing, why}
	}
	if DeviceTrusted(s, u, in.RememberedAt, in.Now) {
		return Decision{NeedNothing, "device remembered"}
	}
	return Decision{NeedCode, "multi-factor authentication is " + u.State.Label() + " for this user"}
}
