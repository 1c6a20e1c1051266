package mfa

import (
	"strings"
	"testing"
	"time"
)

// Every action the log can hold reads in words on the pages: an action added to AuditActions
// without a label in AuditLabels fails here.
func TestEveryAuditActionHasALabel(t *testing.T) {
	seen := map[string]string{}
	for _, a := range AuditActions {
		l, ok := AuditLabels[a]
		if !ok || strings.TrimSpace(l) == "" {
			t.Errorf("audit action %q has no label in AuditLabels (mfa/audit.go)", a)
			continue
		}
		if l == a || strings.ContainsAny(l, "._") {
			t.Errorf("audit action %q: label %q reads like a code, not words", a, l)
		}
		if other, dup := seen[l]; dup {
			t.Errorf("audit actions %q and %q share the label %q", other, a, l)
		}
		seen[l] = a
	}
	for a := range AuditLabels {
		found := false
		for _, b := range AuditActions {
			found = found || a == b
		}
		if !found {
			t.Errorf("AuditLabels has %q, which is not in AuditActions (the log's filter would not offer it)", a)
		}
	}
	if got := AuditLabel("some.future-action"); got != "some.future-action" {
		t.Errorf("an unknown action reads %q, want its code", got)
	}
}

// Manage user settings says which settings it reset, from the record the service writes.
func TestResetRecordLabelNamesTheSettings(t *testing.T) {
	u := &User{UPN: "a@contoso.com", Methods: []Method{{Type: MethodMobilePhone, IsDefault: true}}, AppPasswords: 2}
	cases := []struct {
		opts ResetOptions
		want string
	}{
		{ResetOptions{ContactMethods: true}, "reset contact methods"},
		{ResetOptions{AppPasswords: true, RememberedDevices: true}, "deleted app passwords, restored MFA on remembered devices"},
		{ResetOptions{ContactMethods: true, AppPasswords: true, RememberedDevices: true}, "reset contact methods, deleted app passwords, restored MFA on remembered devices"},
	}
	for _, c := range cases {
		after := *u
		after.RememberedDevicesNotBefore = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		rec := AuditRecord{Action: AuditResetUser, After: describeSettings(&after, c.opts)}
		if got := rec.Label(); got != c.want {
			t.Errorf("%+v: label %q, want %q (after %q)", c.opts, got, c.want, rec.After)
		}
	}
	if got := (&AuditRecord{Action: AuditEnable}).Label(); got != "enabled MFA" {
		t.Errorf("enable reads %q", got)
	}
}
