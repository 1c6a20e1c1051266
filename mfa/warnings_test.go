package mfa

import (
	"fmt"
	"testing"
)

// The enforce warnings count every user the step applies to and name the first twenty of each.
func TestWarningsForNamesTheFirstUsers(t *testing.T) {
	var users []*User
	for i := range 30 {
		u := &User{UPN: fmt.Sprintf("u%02d@contoso.com", i), State: StateEnabled, Privileged: i%10 == 0}
		if i%3 == 0 {
			u.Methods = []Method{{Type: MethodMobilePhone, IsDefault: true}}
		}
		users = append(users, u)
	}
	users = append(users, &User{UPN: "disabled@contoso.com", State: StateDisabled, Privileged: true}) // enforce does not apply
	w := WarningsFor(ActionEnforce, users, 0)
	if w.NoMethods != 20 || w.Privileged != 3 {
		t.Fatalf("counts: %d without methods, %d admins", w.NoMethods, w.Privileged)
	}
	if len(w.NoMethodsUsers) != MaxWarningNames || w.NoMethodsUsers[0].UPN != "u01@contoso.com" || w.NoMethodsUsers[19].UPN != "u29@contoso.com" {
		t.Errorf("names without methods: %d, first %s", len(w.NoMethodsUsers), w.NoMethodsUsers[0].UPN)
	}
	if len(w.PrivilegedUsers) != 3 || w.PrivilegedUsers[2].UPN != "u20@contoso.com" {
		t.Errorf("admins named: %d", len(w.PrivilegedUsers))
	}
	users = append(users, users...)
	if w := WarningsFor(ActionEnforce, users, 0); w.NoMethods != 40 || len(w.NoMethodsUsers) != MaxWarningNames {
		t.Errorf("over twenty: %d counted, %d named", w.NoMethods, len(w.NoMethodsUsers))
	}
	// Asked for every name (a page selection, listed in full).
	if w := WarningsFor(ActionEnforce, users, len(users)); w.NoMethods != 40 || len(w.NoMethodsUsers) != 40 || len(w.PrivilegedUsers) != 6 {
		t.Errorf("all names: %d counted, %d named, %d admins named", w.NoMethods, len(w.NoMethodsUsers), len(w.PrivilegedUsers))
	}
}
