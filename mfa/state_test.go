package mfa

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseState(t *testing.T) {
	tests := []struct {
		in   string
		want State
	}{
		{"enabled", StateEnabled},
		{"Enabled", StateEnabled},
		{"ENFORCED", StateEnforced},
		{"enforced", StateEnforced},
		{" Disabled ", StateDisabled},
		{"\tdisabled\r", StateDisabled},
		{"dIsAbLeD", StateDisabled},
	}
	for _, tt := range tests {
		got, err := ParseState(tt.in)
		if err != nil {
			t.Errorf("ParseState(%q): unexpected error %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseState(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseStateInvalid(t *testing.T) {
	for _, in := range []string{"", " ", "enable", "enforce", "on", "Enabled!", "dis abled", "any", "Désactivé", strings.Repeat("x", 500)} {
		got, err := ParseState(in)
		if err == nil {
			t.Errorf("ParseState(%q) = %q, want an error", in, got)
			continue
		}
		if got != "" {
			t.Errorf("ParseState(%q) returned %q with its error, want \"\"", in, got)
		}
		if code := ErrorCode(err); code != EINVALID {
			t.Errorf("ParseState(%q): code %q, want %q", in, code, EINVALID)
		}
		msg := ErrorMessage(err)
		if found := strconv.Quote(truncate(in, 40)); !strings.Contains(msg, found) {
			t.Errorf("ParseState(%q): message %q does not name what was found", in, msg)
		}
		for _, want := range []string{"Enabled", "Enforced", "Disabled"} {
			if !strings.Contains(msg, want) {
				t.Errorf("ParseState(%q): message %q does not name the expected %s", in, msg, want)
			}
		}
		if len(msg) > 200 {
			t.Errorf("ParseState(long input): message is %d bytes, want the input truncated", len(msg))
		}
	}
}

func TestStateLabelAndValid(t *testing.T) {
	tests := []struct {
		s     State
		label string
		valid bool
	}{
		{StateDisabled, "Disabled", true},
		{StateEnabled, "Enabled", true},
		{StateEnforced, "Enforced", true},
		{"", "", false},
		{"Enabled", "Enabled", false}, // not the canonical spelling
		{"bogus", "bogus", false},
	}
	for _, tt := range tests {
		if got := tt.s.Label(); got != tt.label {
			t.Errorf("State(%q).Label() = %q, want %q", tt.s, got, tt.label)
		}
		if got := tt.s.Valid(); got != tt.valid {
			t.Errorf("State(%q).Valid() = %v, want %v", tt.s, got, tt.valid)
		}
	}
	// Every label parses back to its state.
	for _, s := range States {
		if got, err := ParseState(s.Label()); err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v; want %q", s.Label(), got, err, s)
		}
	}
	if want := []State{StateEnabled, StateEnforced, StateDisabled}; !slices.Equal(States, want) {
		t.Errorf("States = %v, want the page's order %v", States, want)
	}
}

func TestParseAction(t *testing.T) {
	tests := []struct {
		in      string
		want    Action
		wantErr bool
	}{
		{"enable", ActionEnable, false},
		{" ENFORCE ", ActionEnforce, false},
		{"Disable", ActionDisable, false},
		{"enabled", "", true},
		{"", "", true},
		{"delete", "", true},
	}
	for _, tt := range tests {
		got, err := ParseAction(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseAction(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && (ErrorCode(err) != EINVALID || ErrorMessage(err) == "") {
			t.Errorf("ParseAction(%q): error %v (code %q), want EINVALID with a message", tt.in, err, ErrorCode(err))
		}
	}
	for _, a := range []struct {
		a    Action
		want State
	}{{ActionEnable, StateEnabled}, {ActionEnforce, StateEnforced}, {ActionDisable, StateDisabled}} {
		if got := a.a.Target(); got != a.want {
			t.Errorf("Action(%q).Target() = %q, want %q", a.a, got, a.want)
		}
	}
}

// TestTransitions checks every pair of states against SPEC §1: Disabled → Enabled (Enable),
// Enabled → Enforced (Enforce), any → Disabled (Disable), Enforced → Enabled (Enable);
// Disabled → Enforced is refused; the same state is a no-op.
func TestTransitions(t *testing.T) {
	tests := []struct {
		from, to   State
		action     Action // "" when ActionFor answers false
		allowed    bool   // CheckTransition answers nil
		refusedMsg string // part of CheckTransition's message when refused
	}{
		{StateDisabled, StateDisabled, "", true, ""},
		{StateDisabled, StateEnabled, ActionEnable, true, ""},
		{StateDisabled, StateEnforced, "", false, "enable the user first"},
		{StateEnabled, StateDisabled, ActionDisable, true, ""},
		{StateEnabled, StateEnabled, "", true, ""},
		{StateEnabled, StateEnforced, ActionEnforce, true, ""},
		{StateEnforced, StateDisabled, ActionDisable, true, ""},
		{StateEnforced, StateEnabled, ActionEnable, true, ""},
		{StateEnforced, StateEnforced, "", true, ""},
	}
	if len(tests) != len(States)*len(States) {
		t.Fatalf("table has %d rows, want every pair (%d)", len(tests), len(States)*len(States))
	}
	for _, tt := range tests {
		a, ok := ActionFor(tt.from, tt.to)
		if a != tt.action || ok != (tt.action != "") {
			t.Errorf("ActionFor(%s, %s) = %q, %v; want %q, %v", tt.from, tt.to, a, ok, tt.action, tt.action != "")
		}
		if ok && a.Target() != tt.to {
			t.Errorf("ActionFor(%s, %s) = %q whose target is %s", tt.from, tt.to, a, a.Target())
		}
		err := CheckTransition(tt.from, tt.to)
		if (err == nil) != tt.allowed {
			t.Errorf("CheckTransition(%s, %s) = %v; want allowed=%v", tt.from, tt.to, err, tt.allowed)
			continue
		}
		if err != nil {
			msg := ErrorMessage(err)
			if ErrorCode(err) != EINVALID {
				t.Errorf("CheckTransition(%s, %s): code %q, want %q", tt.from, tt.to, ErrorCode(err), EINVALID)
			}
			for _, want := range []string{tt.from.Label(), tt.to.Label(), tt.refusedMsg} {
				if !strings.Contains(msg, want) {
					t.Errorf("CheckTransition(%s, %s): message %q does not contain %q", tt.from, tt.to, msg, want)
				}
			}
		}
	}
}

func TestCheckTransitionInvalidTarget(t *testing.T) {
	for _, to := range []State{"", "Enabled", "on"} {
		err := CheckTransition(StateDisabled, to)
		if ErrorCode(err) != EINVALID {
			t.Errorf("CheckTransition(disabled, %q) = %v, want EINVALID", to, err)
			continue
		}
		if msg := ErrorMessage(err); !strings.Contains(msg, "Enabled, Enforced or Disabled") {
			t.Errorf("CheckTransition(disabled, %q): message %q does not say what is expected", to, msg)
		}
	}
}

func TestAvailableActions(t *testing.T) {
	D, E, F := StateDisabled, StateEnabled, StateEnforced
	tests := []struct {
		name   string
		states []State
		want   []Action
	}{
		{"none selected", nil, nil},
		{"one disabled", []State{D}, []Action{ActionEnable}},
		{"one enabled", []State{E}, []Action{ActionEnforce, ActionDisable}},
		{"one enforced", []State{F}, []Action{ActionDisable}},
		{"disabled and enabled", []State{D, E}, []Action{ActionEnable, ActionEnforce, ActionDisable}},
		{"disabled and enforced", []State{F, D}, []Action{ActionEnable, ActionDisable}},
		{"enabled and enforced", []State{F, E, F}, []Action{ActionEnforce, ActionDisable}},
		{"all three", []State{E, D, F}, []Action{ActionEnable, ActionEnforce, ActionDisable}},
		{"many disabled", []State{D, D, D, D}, []Action{ActionEnable}},
		{"unknown states ignored", []State{"", "bogus"}, nil},
	}
	for _, tt := range tests {
		if got := AvailableActions(tt.states); !slices.Equal(got, tt.want) {
			t.Errorf("%s: AvailableActions(%v) = %v, want %v", tt.name, tt.states, got, tt.want)
		}
	}
}

func TestStateAfterRegistration(t *testing.T) {
	tests := []struct{ in, want State }{
		{StateDisabled, StateDisabled},
		{StateEnabled, StateEnforced},
		{StateEnforced, StateEnforced},
	}
	for _, tt := range tests {
		if got := StateAfterRegistration(tt.in); got != tt.want {
			t.Errorf("StateAfterRegistration(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…"},
		{"ééééé", 2, "éé…"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
