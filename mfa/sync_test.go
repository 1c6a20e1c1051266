package mfa

import (
	"context"
	"strings"
	"testing"
)

// capsOnly is a SettingsStore that only has capabilities.
type capsOnly struct{ caps Capabilities }

func (c capsOnly) Capabilities() Capabilities                     { return c.caps }
func (c capsOnly) LoadSettings(context.Context) (Settings, error) { return DefaultSettings(), nil }
func (c capsOnly) SaveSettings(context.Context, func(Settings) (Settings, *AuditRecord, error)) (Settings, error) {
	return DefaultSettings(), nil
}

// Manage user settings refuses, naming it, an option the backend cannot apply, before it reads
// or changes anything.
func TestResetRefusesUnavailableOptions(t *testing.T) {
	caps := AllCapabilities()
	caps.AppPasswords = Capability{Reason: "no API for app passwords"}
	caps.RememberMFA = Capability{Reason: "no API for remembered devices"}
	s := &Service{Deps: Deps{Settings: capsOnly{caps}}} // no directory: it must not be reached
	admin := Actor{Name: "a", Role: RoleGlobalAdmin}
	for _, tc := range []struct {
		opts  ResetOptions
		field string
		label string
	}{
		{ResetOptions{AppPasswords: true}, "appPasswords", "Delete all existing app passwords"},
		{ResetOptions{ContactMethods: true, RememberedDevices: true}, "rememberedDevices", "Restore multi-factor authentication on all remembered devices"},
	} {
		_, _, err := s.ResetUser(context.Background(), admin, ResetRequest{UPN: "a@contoso.com", Options: tc.opts})
		if ErrorCode(err) != EINVALID || ErrorField(err) != tc.field || !strings.Contains(ErrorMessage(err), tc.label) {
			t.Errorf("%+v: %v (field %q)", tc.opts, err, ErrorField(err))
		}
		if _, err := s.ApplyReset(context.Background(), admin, tc.opts, []Target{{UPN: "a@contoso.com"}}, "", "page", nil); ErrorField(err) != tc.field {
			t.Errorf("ApplyReset %+v: %v", tc.opts, err)
		}
	}
}

// The sync of a directory's index: any role sees it, only bulk-update roles start it, and a
// directory without an index has none.
func TestSyncPermissions(t *testing.T) {
	s := &Service{}
	if st, err := s.SyncStatus(context.Background(), Actor{Role: RoleReader}); st != nil || err != nil {
		t.Errorf("no index: %v %v", st, err)
	}
	if err := s.StartSync(context.Background(), Actor{Role: RoleHelpdesk}); ErrorCode(err) != EFORBIDDEN {
		t.Errorf("helpdesk starts a sync: %v", err)
	}
	if err := s.StartSync(context.Background(), Actor{Role: RoleAuthAdmin}); ErrorCode(err) != EUNAVAILABLE {
		t.Errorf("no index: %v", err)
	}
}
