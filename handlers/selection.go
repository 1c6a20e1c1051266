package handlers

import (
	"net/url"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// selection is what the users page keeps across a quick step's dialogs: the users selected (or
// the whole view) and, once the step is applied, those it changed, highlighted.
type selection struct {
	upns    map[string]bool // by mfa.NormalizeUPN
	all     bool
	changed map[string]bool
}

// keptFromDialog is the selection a step's confirmation carries.
func keptFromDialog(d templates.StepDialog) selection {
	s := selection{upns: map[string]bool{}, all: d.All}
	for _, t := range d.Targets {
		s.upns[mfa.NormalizeUPN(t.UPN)] = true
	}
	return s
}

// keptFromResult is the users a step was applied to, and those it changed. (A step on the whole
// view keeps its users, not the view: the view may now match others.)
func keptFromResult(d templates.ResultDialog) selection {
	s := selection{upns: map[string]bool{}, changed: map[string]bool{}}
	for _, r := range d.Results {
		key := mfa.NormalizeUPN(r.UPN)
		s.upns[key] = true
		if r.Outcome == mfa.OutcomeChanged {
			s.changed[key] = true
		}
	}
	return s
}

// warningView is the users page that lists what an enforce warning counts: the view the step came
// from (its filters, not its page), narrowed to Enabled users (those Enforce applies to) and to
// param=value (methods=none, privileged=true).
func warningView(d templates.StepDialog, param, value string) string {
	return warningViewIn(d, mfa.StateEnabled, param, value)
}

// coveredView is the view of the users a step's covered warning counts: those in the state the step
// applies to (Disabled for Enable, Enabled for Enforce) whose MFA Conditional Access requires.
func coveredView(d templates.StepDialog, action mfa.Action) string {
	from := mfa.StateEnabled
	if action == mfa.ActionEnable {
		from = mfa.StateDisabled
	}
	return warningViewIn(d, from, "coverage", string(mfa.CoverageCA))
}

// warningViewIn is warningView with the users in state.
func warningViewIn(d templates.StepDialog, state mfa.State, param, value string) string {
	raw := d.AllFilter
	if !d.All {
		if u, err := url.Parse(d.Return); err == nil && u.Path == "/users" {
			raw = u.RawQuery
		}
	}
	from, _ := url.ParseQuery(raw)
	q := url.Values{}
	for k, v := range from {
		switch k {
		case "after", "before", "page", "result", "notice", "status":
		default:
			q[k] = v
		}
	}
	q.Set("status", string(state))
	q.Set(param, value)
	return "/users?" + q.Encode()
}

// setupURL is the registration link of the enable dialog's "security info page"
// (MFAPORTAL_SETUP_URL, the one notifications send); this portal's /my when none is configured.
func (h *Handlers) setupURL() string {
	if link := h.Service.RegistrationLink(); link != "" {
		return link
	}
	return "/my"
}
