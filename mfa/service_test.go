package mfa

import (
	"context"
	"strings"
	"testing"
)

// stubDirectory is a Directory with nothing else: no bulk look-ups, no batches, no sync.
type stubDirectory struct{ Directory }

// lookupDirectory can also look users up in bulk.
type lookupDirectory struct{ stubDirectory }

func (lookupDirectory) FindUsersByUPN(context.Context, []string) (map[string]*User, error) {
	return map[string]*User{}, nil
}

// NewService refuses a service without a required dependency, naming it, and resolves what the
// directory can do once.
func TestNewService(t *testing.T) {
	full := Deps{Directory: stubDirectory{}, Accounts: struct{ AccountStore }{}, Audit: &memAudit{},
		Settings: capsOnly{AllCapabilities()}, Jobs: struct{ JobStore }{}}
	for _, tc := range []struct {
		name   string
		change func(*Deps)
	}{
		{"Directory", func(d *Deps) { d.Directory = nil }},
		{"Accounts", func(d *Deps) { d.Accounts = nil }},
		{"Audit", func(d *Deps) { d.Audit = nil }},
		{"Settings", func(d *Deps) { d.Settings = nil }},
		{"Jobs", func(d *Deps) { d.Jobs = nil }},
	} {
		d := full
		tc.change(&d)
		if _, err := NewService(d); ErrorCode(err) != EINTERNAL || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("without %s: %v", tc.name, err)
		}
	}
	s, err := NewService(full)
	if err != nil {
		t.Fatal(err)
	}
	if s.lookup != nil || s.plan != nil || s.batch != nil || s.dirSync != nil || s.Now == nil || s.HasTokens() {
		t.Errorf("a plain directory: %+v", s)
	}
	full.Directory = lookupDirectory{}
	if s, _ = NewService(full); s.lookup == nil || s.plan == nil {
		t.Error("a directory that looks users up in bulk: not resolved")
	}
}
