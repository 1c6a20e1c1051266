package mfa

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDemoUsersDeterministic(t *testing.T) {
	for _, n := range []int{0, 1, DefaultDemoUsers, 2000} {
		a := slices.Collect(DemoUsers(n))
		b := slices.Collect(DemoUsers(n))
		if len(a) != n {
			t.Errorf("DemoUsers(%d) yielded %d users", n, len(a))
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("DemoUsers(%d) differs between two runs", n)
		}
	}
	// A smaller tenant is a prefix of a larger one.
	small, large := slices.Collect(DemoUsers(50)), slices.Collect(DemoUsers(500))
	if !reflect.DeepEqual(small, large[:50]) {
		t.Error("DemoUsers(50) is not the first 50 users of DemoUsers(500)")
	}
}

func TestDemoUsersStopsEarly(t *testing.T) {
	n := 0
	for range DemoUsers(1000) {
		n++
		if n == 10 {
			break
		}
	}
	if n != 10 {
		t.Errorf("ranged over %d users, want to stop at 10", n)
	}
}

func TestDemoUsersTenant(t *testing.T) {
	tests := []struct {
		n                      int
		minPrivileged          int // at least
		minBlocked, maxBlocked int
	}{
		{DefaultDemoUsers, 1, 8, 50},
		{20000, 200, 1200, 2000},
	}
	for _, tt := range tests {
		seen := map[string]int{}
		states := map[State]int{}
		var privileged, blocked, withMethods, enforcedNoMethods, reenabled, appPw int
		i := 0
		for u := range DemoUsers(tt.n) {
			i++
			if err := ValidateUPN(u.UPN); err != nil {
				t.Errorf("n=%d user %d: invalid UPN %q: %v", tt.n, i, u.UPN, err)
			}
			if !strings.HasSuffix(u.UPN, "@"+DemoDomain) || u.UPN != NormalizeUPN(u.UPN) {
				t.Errorf("n=%d user %d: UPN %q is not a lower-case %s name", tt.n, i, u.UPN, DemoDomain)
			}
			if err := ValidateDisplayName(u.DisplayName); err != nil || strings.TrimSpace(u.DisplayName) != u.DisplayName {
				t.Errorf("n=%d user %d: invalid display name %q: %v", tt.n, i, u.DisplayName, err)
			}
			if prev, dup := seen[NormalizeUPN(u.UPN)]; dup {
				t.Fatalf("n=%d: UPN %q of user %d repeats user %d", tt.n, u.UPN, i, prev)
			}
			seen[NormalizeUPN(u.UPN)] = i
			if !u.State.Valid() {
				t.Errorf("n=%d user %d: invalid state %q", tt.n, i, u.State)
			}
			states[u.State]++
			if u.Privileged {
				privileged++
			}
			if !u.AccountEnabled {
				blocked++
			}
			if u.HasMethods() {
				withMethods++
				if d, ok := u.DefaultMethod(); !ok || d != u.Methods[0].Type {
					t.Errorf("n=%d user %d: default method %q, %v; want the first of %v", tt.n, i, d, ok, u.Methods)
				}
				// The methods survive a round trip through the import format.
				ms, err := ParseMethodList(FormatMethodList(u.Methods))
				if err != nil || !slices.Equal(ms, u.Methods) {
					t.Errorf("n=%d user %d: methods %v do not round-trip: %v, %v", tt.n, i, u.Methods, ms, err)
				}
			} else if u.State == StateEnforced {
				enforcedNoMethods++
			}
			if u.HadMethodsWhenReenabled {
				reenabled++
				if u.State != StateEnabled || !u.HasMethods() {
					t.Errorf("n=%d user %d: re-enabled flag on a %s user with methods %v", tt.n, i, u.State, u.Methods)
				}
			}
			if u.AppPasswords < 0 || u.AppPasswords > MaxAppPasswords {
				t.Errorf("n=%d user %d: %d app passwords", tt.n, i, u.AppPasswords)
			}
			if u.AppPasswords > 0 {
				appPw++
			}
		}
		if i != tt.n {
			t.Errorf("DemoUsers(%d) yielded %d users", tt.n, i)
		}
		for _, s := range States {
			if states[s] == 0 {
				t.Errorf("n=%d: no user is %s (%v)", tt.n, s, states)
			}
		}
		if states[StateDisabled] < states[StateEnabled] || states[StateDisabled] < states[StateEnforced] {
			t.Errorf("n=%d: states %v; want Disabled the most common, as in a real tenant", tt.n, states)
		}
		if privileged < tt.minPrivileged || privileged > tt.n/10 {
			t.Errorf("n=%d: %d privileged users, want some (at least %d) but not many", tt.n, privileged, tt.minPrivileged)
		}
		if blocked < tt.minBlocked || blocked > tt.maxBlocked {
			t.Errorf("n=%d: %d blocked users, want %d to %d", tt.n, blocked, tt.minBlocked, tt.maxBlocked)
		}
		if withMethods == 0 || enforcedNoMethods == 0 && tt.n >= 20000 || reenabled == 0 || appPw == 0 {
			t.Errorf("n=%d: with methods %d, enforced without methods %d, re-enabled %d, with app passwords %d; want a realistic mix",
				tt.n, withMethods, enforcedNoMethods, reenabled, appPw)
		}
	}
}

func TestDemoNames(t *testing.T) {
	// The name lists have no duplicates once folded, so that first.last is unique within a round.
	for _, list := range [][]string{demoFirst, demoLast} {
		seen := map[string]string{}
		for _, name := range list {
			local := asciiLocal(name)
			if local == "" {
				t.Errorf("name %q gives an empty user name part", name)
			}
			if prev, dup := seen[local]; dup {
				t.Errorf("names %q and %q both give %q", prev, name, local)
			}
			seen[local] = name
		}
	}
	tests := []struct{ in, want string }{
		{"Élodie", "elodie"},
		{"O'Brien", "obrien"},
		{"Søren", "soren"},
		{"Dąbrowski", "dabrowski"},
		{"Wójcik", "wojcik"},
	}
	for _, tt := range tests {
		if got := asciiLocal(tt.in); got != tt.want {
			t.Errorf("asciiLocal(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The demo tenant seeded into a fresh data folder has its Enabled users enabled over the 90 days
// before it was seeded, at many different times; the others are not Enabled since any time.
func TestDemoTenantEnabledOverTime(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	seen := map[time.Time]bool{}
	enabled := 0
	for u := range DemoTenant(300, now) {
		if u.State != StateEnabled {
			if !u.EnabledAt.IsZero() {
				t.Errorf("%s (%s): enabled at %v", u.UPN, u.State, u.EnabledAt)
			}
			continue
		}
		enabled++
		seen[u.EnabledAt] = true
		if age := now.Sub(u.EnabledAt); age < time.Hour || age > 90*24*time.Hour {
			t.Errorf("%s: enabled %v before the seed", u.UPN, age)
		}
	}
	if enabled < 50 || len(seen) != enabled {
		t.Errorf("%d Enabled users at %d different times", enabled, len(seen))
	}
}
