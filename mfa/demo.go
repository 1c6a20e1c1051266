package mfa

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"strings"
	"time"
)

// DemoDomain is the domain of the demo tenant's user names.
const DemoDomain = "contoso.com"

// DefaultDemoUsers is the size of the demo tenant seeded into a fresh data folder.
const DefaultDemoUsers = 300

var demoFirst = strings.Fields(`Adele Alex Allan Amélie Ana Anders Ángel Anika Arjun Astrid Aylin Beatriz Ben Björn Bruno
Camille Carlos Chen Chloé Christie Cyril Dalia Daniel Debra Diego Dmitri Edith Eitan Elena Élodie Emily Enrico Erik
Fatima Felix Fernando Fiona François Gabriel Grady Greta Hana Hans Haruto Helena Henrietta Ibrahim Ines Irvin Isaiah
Ivana Jakub Jan Javier Johanna Joni Jörg Jun Kai Kamala Karin Kenji Khalid Laura Lee Leila Lena Lidia Lucas Luis
Lynne Magnus Malik Marta Megan Mei Miriam Mohammed Nadia Nestor Niamh Nikolai Noah Olga Omar Patti Paulo Pedro
Pradeep Priya Rafael Raúl Rosa Sakura Samir Sander Sara Sebastián Siobhan Sofía Søren Stefan Sven Tamar Tomás
Valentina Vikram Wei Wilhelmina Yara Yusuf Zoë Zofia`)

var demoLast = strings.Fields(`Abara Adams Ahmed Almeida Andersen Bauer Becker Bianchi Brown Castillo Chen Cohen Costa
Dąbrowski Dubois Duarte Eriksson Fernández Fischer Gallagher García González Hansen Hartmann Hernández Ivanova Jansen
Jensen Johansson Kaplan Kim Kowalski Larsen Laurent Lefèvre Li López Martin Meyer Moreau Müller Murphy Nakamura
Nguyen Nielsen Novák O'Brien Okafor Olsen Park Patel Pereira Petrov Popescu Quinn Ramírez Rossi Russo Sánchez Santos
Sato Schmidt Schneider Silva Smith Sørensen Suzuki Svensson Tanaka Thompson Wagner Walsh Wang Weber Williams Wilson
Wójcik Yamamoto Yilmaz Zhang Zimmermann`)

// DemoTenant is DemoUsers as a fresh data folder gets it, seeded at now: its Enabled users were
// enabled over the 90 days before (from a few hours to 90 days ago, spread evenly), so that the
// registration tab shows them oldest first with how long ago, as a real tenant would, rather than
// all enabled at the moment of seeding.
func DemoTenant(n int, now time.Time) iter.Seq[User] {
	return func(yield func(User) bool) {
		i := 0
		for u := range DemoUsers(n) {
			if u.State == StateEnabled {
				// 7919 is prime to the 2,160 hours of 90 days: every hour is taken in turn.
				u.EnabledAt = now.Add(-time.Duration(3+(i*7919)%(90*24)) * time.Hour)
			}
			i++
			if !yield(u) {
				return
			}
		}
	}
}

// DemoUsers yields a deterministic demo tenant of n users: realistic names (with accents), every
// state, some registered methods, about 2 % admins and 8 % sign-in blocked users.
func DemoUsers(n int) iter.Seq[User] {
	return func(yield func(User) bool) {
		rng := rand.New(rand.NewPCG(2026, 11))
		combos := len(demoFirst) * len(demoLast)
		for i := range n {
			// Every (first, last) pair once per round, with surnames spread so that even a small
			// tenant has many: for a fixed first name, i/len(demoFirst) takes distinct values.
			a := i % len(demoFirst)
			first := demoFirst[a]
			last := demoLast[(i/len(demoFirst)+a*37)%len(demoLast)]
			local := asciiLocal(first) + "." + asciiLocal(last)
			if round := i / combos; round > 0 {
				local += fmt.Sprint(round + 1)
			}
			u := User{
				UPN:            local + "@" + DemoDomain,
				DisplayName:    first + " " + last,
				AccountEnabled: rng.IntN(100) >= 8,
				Privileged:     rng.IntN(100) < 2,
			}
			switch r := rng.IntN(100); {
			case r < 55:
				u.State = StateDisabled
				if rng.IntN(100) < 15 {
					u.Methods = demoMethods(rng)
				}
			case r < 80:
				u.State = StateEnabled
				if rng.IntN(100) < 10 { // re-enabled while still holding registration details
					u.Methods = demoMethods(rng)
					u.HadMethodsWhenReenabled = true
				}
			default:
				u.State = StateEnforced
				if rng.IntN(100) < 92 { // a few were enforced before they registered
					u.Methods = demoMethods(rng)
				}
				if len(u.Methods) > 0 && rng.IntN(100) < 30 {
					u.AppPasswords = 1 + rng.IntN(3)
				}
			}
			if !yield(u) {
				return
			}
		}
	}
}

func demoMethods(rng *rand.Rand) []Method {
	sets := [][]MethodType{
		{MethodAuthenticatorPush, MethodSoftwareOTP, MethodMobilePhone},
		{MethodMobilePhone},
		{MethodMobilePhone, MethodOfficePhone},
		{MethodAuthenticatorPush, MethodSoftwareOTP},
		{MethodSoftwareOTP},
		{MethodFIDO2, MethodAuthenticatorPush},
		{MethodHardwareOTP, MethodMobilePhone},
	}
	set := sets[rng.IntN(len(sets))]
	out := make([]Method, len(set))
	for i, m := range set {
		out[i] = Method{Type: m, IsDefault: i == 0}
	}
	return out
}

// asciiLocal makes a user-name part from a name: folded, letters and digits only.
func asciiLocal(s string) string {
	var b strings.Builder
	for _, r := range Fold(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
