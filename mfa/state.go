package mfa

import "strings"

// State is a user's per-user MFA state. The zero value is not a valid state; use StateDisabled.
// Its string form is the API's lower-case spelling ("disabled", "enabled", "enforced").
type State string

// The three per-user MFA states (SPEC §1).
const (
	StateDisabled State = "disabled" // the default: not enrolled
	StateEnabled  State = "enabled"  // enrolled, registration not completed
	StateEnforced State = "enforced" // must use MFA at every sign-in
)

// States lists the states in the order the original page shows them.
var States = []State{StateEnabled, StateEnforced, StateDisabled}

// ParseState parses a state name case-insensitively, ignoring surrounding spaces.
// It answers EINVALID naming what was expected and what was found.
func ParseState(s string) (State, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "disabled":
		return StateDisabled, nil
	case "enabled":
		return StateEnabled, nil
	case "enforced":
		return StateEnforced, nil
	}
	return "", Errorf(EINVALID, "invalid MFA status %q: expected Enabled, Enforced or Disabled", truncate(s, 40))
}

// Valid reports whether s is one of the three states.
func (s State) Valid() bool {
	return s == StateDisabled || s == StateEnabled || s == StateEnforced
}

// Label is the state as the original page displays it: "Disabled", "Enabled", "Enforced".
func (s State) Label() string {
	switch s {
	case StateDisabled:
		return "Disabled"
	case StateEnabled:
		return "Enabled"
	case StateEnforced:
		return "Enforced"
	}
	return string(s)
}

// Action is an admin's quick step on a user's state.
type Action string

// The quick steps of SPEC §2 that change a state.
const (
	ActionEnable  Action = "enable"
	ActionEnforce Action = "enforce"
	ActionDisable Action = "disable"
)

// Target is the state an action leads to.
func (a Action) Target() State {
	switch a {
	case ActionEnable:
		return StateEnabled
	case ActionEnforce:
		return StateEnforced
	default:
		return StateDisabled
	}
}

// ParseAction parses "enable", "enforce" or "disable" case-insensitively.
func ParseAction(s string) (Action, error) {
	switch a := Action(strings.ToLower(strings.TrimSpace(s))); a {
	case ActionEnable, ActionEnforce, ActionDisable:
		return a, nil
	}
	return "", Errorf(EINVALID, "invalid action %q: expected enable, enforce or disable", truncate(s, 40))
}

// ActionFor returns the action that moves a user from one state to another, and false when the
// move is not one an admin may make (or is no move at all). The rules of SPEC §1:
// Disabled → Enabled (Enable), Enabled → Enforced (Enforce), any → Disabled (Disable), and
// Enforced → Enabled (Enable).
func ActionFor(from, to State) (Action, bool) {
	switch {
	case from == to:
		return "", false
	case to == StateDisabled:
		return ActionDisable, true
	case to == StateEnabled && (from == StateDisabled || from == StateEnforced):
		return ActionEnable, true
	case to == StateEnforced && from == StateEnabled:
		return ActionEnforce, true
	}
	return "", false
}

// CheckTransition answers nil when an admin may move a user from one state to another (or the user
// is already there: a no-op), and EINVALID saying why not otherwise. Disabled → Enforced is refused:
// the user must be enabled first, as on the original page.
func CheckTransition(from, to State) error {
	if !to.Valid() {
		return Errorf(EINVALID, "invalid MFA status %q: expected Enabled, Enforced or Disabled", string(to))
	}
	if from == to {
		return nil
	}
	if _, ok := ActionFor(from, to); !ok {
		return Errorf(EINVALID, "cannot change MFA status from %s to %s: enable the user first", from.Label(), to.Label())
	}
	return nil
}

// AvailableActions is the set of quick steps that make sense for a selection of users with the
// given states (SPEC §2): Enable where any is Disabled, Disable where any is Enabled or Enforced,
// Enforce where any is Enabled.
func AvailableActions(states []State) []Action {
	var anyDisabled, anyEnabled, anyEnforced bool
	for _, s := range states {
		switch s {
		case StateDisabled:
			anyDisabled = true
		case StateEnabled:
			anyEnabled = true
		case StateEnforced:
			anyEnforced = true
		}
	}
	var out []Action
	if anyDisabled {
		out = append(out, ActionEnable)
	}
	if anyEnabled {
		out = append(out, ActionEnforce)
	}
	if anyEnabled || anyEnforced {
		out = append(out, ActionDisable)
	}
	return out
}

// StateAfterRegistration is the state a user moves to on completing registration: an Enabled user
// becomes Enforced automatically; others keep their state.
func StateAfterRegistration(s State) State {
	if s == StateEnabled {
		return StateEnforced
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
