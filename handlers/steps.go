package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// safeReturn keeps a return URL only if it is the users page or a user's page on this site.
func safeReturn(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n") {
		return "/users"
	}
	if u.Path != "/users" && !strings.HasPrefix(u.Path, "/users/") || u.Path == "/users/export" {
		return "/users"
	}
	return s
}

func withParam(u, k, v string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + k + "=" + url.QueryEscape(v)
}

func parseStep(s string) (step string, action mfa.Action, err error) {
	switch s {
	case "manage":
		return s, "", nil
	case string(mfa.ActionExempt): // Disable for a while (SPEC §10)
		return s, mfa.ActionExempt, nil
	}
	a, err := mfa.ParseAction(s)
	if err != nil {
		return "", "", mfa.Errorf(mfa.EINVALID, "unknown quick step: expected enable, enforce, disable, exempt or manage")
	}
	return string(a), a, nil
}

// parseTargets reads the selected users ("VERSION UPN" each) of a quick-step form.
func parseTargets(values []string, limit int) ([]mfa.Target, error) {
	if len(values) > limit {
		return nil, mfa.Errorf(mfa.EINVALID, "%d users selected: a quick step acts on at most %d here; use bulk update for more", len(values), limit)
	}
	seen := map[string]bool{}
	var out []mfa.Target
	for _, v := range values {
		ver, upn, ok := strings.Cut(strings.TrimSpace(v), " ")
		n, err := strconv.ParseInt(ver, 10, 64)
		if !ok || err != nil || n < 0 || upn == "" {
			return nil, mfa.Errorf(mfa.EINVALID, "the selection is malformed (%q): reload the page and select the users again", truncateStr(v, 60))
		}
		key := mfa.NormalizeUPN(upn)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, mfa.Target{UPN: upn, Version: n})
	}
	return out, nil
}

func truncateStr(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// stepForm is a quick-step form, parsed and checked, with the users it names.
type stepForm struct {
	dialog  templates.StepDialog
	action  mfa.Action
	targets []mfa.Target
	users   []*mfa.User
}

// readStepForm parses the confirmation or apply form and loads the selected users.
func (h *Handlers) readStepForm(r *http.Request) (*stepForm, error) {
	if err := r.ParseForm(); err != nil {
		return nil, mfa.Errorf(mfa.EINVALID, "the form could not be read: %v", err)
	}
	actor := Actor(r)
	step, action, err := parseStep(r.PostForm.Get("step"))
	if err != nil {
		return nil, err
	}
	if err := h.Service.MayTakeStep(actor, action); err != nil {
		return nil, err
	}
	f := &stepForm{action: action}
	d := templates.StepDialog{Step: step, Return: safeReturn(r.PostForm.Get("return")), RequireWhy: h.Service.RequireReason,
		Reason: r.PostForm.Get("reason"), Caps: h.capabilities()}
	if r.PostForm.Get("all") == "1" {
		q, err := url.ParseQuery(r.PostForm.Get("filter"))
		if err != nil {
			return nil, mfa.Errorf(mfa.EINVALID, "the view to act on is malformed: reload the page and try again")
		}
		p := parseListParams(q)
		if len(p.problems) > 0 {
			return nil, mfa.Errorf(mfa.EINVALID, "%s", strings.Join(p.problems, " "))
		}
		users, err := h.Service.SelectAll(r.Context(), actor, p.filter)
		if err != nil {
			return nil, err
		}
		d.All, d.AllFilter = true, p.values().Encode()
		f.users = users
		for _, u := range users {
			f.targets = append(f.targets, mfa.Target{UPN: u.UPN})
		}
	} else {
		targets, err := parseTargets(r.PostForm["sel"], h.capabilities().MaxStep())
		if err != nil {
			return nil, err
		}
		if len(targets) == 0 {
			return nil, mfa.Errorf(mfa.EINVALID, "Select one or more users first.")
		}
		f.targets = targets
		for _, t := range targets {
			d.Targets = append(d.Targets, templates.StepTarget{UPN: t.UPN, Version: t.Version})
		}
	}
	d.CanNotify = action == mfa.ActionEnable && actor.Role.Can(mfa.PermManageSettings) && h.Service.NotifyReady() == nil
	d.Notify = d.CanNotify && r.PostForm.Get("notify") == "true"
	d.Hours = strings.TrimSpace(r.PostForm.Get("hours"))
	d.Options = mfa.ResetOptions{
		ContactMethods:    r.PostForm.Get("contactMethods") == "true",
		AppPasswords:      r.PostForm.Get("appPasswords") == "true",
		RememberedDevices: r.PostForm.Get("rememberedDevices") == "true",
	}
	f.dialog = d
	return f, nil
}

// ConfirmStep is POST /users/confirm: the page the admin came from, with the step's dialog open.
// Nothing changes here.
func (h *Handlers) ConfirmStep(w http.ResponseWriter, r *http.Request) {
	f, err := h.readStepForm(r)
	if err != nil {
		h.stepError(w, r, err)
		return
	}
	if f.users == nil { // a page selection: load the users named, for counts and warnings
		upns := make([]string, len(f.targets))
		for i, t := range f.targets {
			upns[i] = t.UPN
		}
		users, err := h.Service.GetUsers(r.Context(), Actor(r), upns)
		if err != nil {
			h.ErrorPage(w, r, err)
			return
		}
		f.users = users
	}
	d := f.dialog
	d.Op = NewOp()
	if f.action == "" { // manage user settings: every selected user, nothing ticked beforehand
		d.Applicable = len(f.users)
	} else {
		for _, u := range f.users {
			if f.action.Applies(u.State) {
				d.Applicable++
			} else {
				d.Skipped++
			}
		}
		if f.action != mfa.ActionExempt {
			if d.All {
				// All matching users: beyond the names shown, a link to the view that lists
				// exactly those counted (the filter and the warning's condition).
				d.Warnings = mfa.WarningsFor(f.action, f.users, mfa.MaxWarningNames)
				d.MoreNoMethods = warningView(d, "methods", "none")
				d.MorePrivileged = warningView(d, "privileged", "true")
				d.MoreCovered = coveredView(d, f.action)
			} else {
				// Users selected on a page: the view's filter would list others too (the rest of
				// the view), so the dialog names every one counted (the rest behind "and N more").
				d.Warnings = mfa.WarningsFor(f.action, f.users, len(f.users))
			}
		}
	}
	if len(f.users) == 1 && !d.All {
		d.Single = f.users[0]
	}
	d.SetupURL = h.setupURL()
	h.renderReturn(w, r, d.Return, http.StatusOK, templates.Step(d), keptFromDialog(d))
}

// ApplyStep is POST /users/step: apply the confirmed step, remember its result, and send the admin
// back to the page they came from, which shows the result.
func (h *Handlers) ApplyStep(w http.ResponseWriter, r *http.Request) {
	f, err := h.readStepForm(r)
	if err != nil {
		h.stepError(w, r, err)
		return
	}
	actor := Actor(r)
	op := r.PostForm.Get("op")
	if !validOp(op) {
		h.stepError(w, r, mfa.Errorf(mfa.EINVALID, "this confirmation is not valid: select the users and choose the step again"))
		return
	}
	claimed, err := h.Results.Claim(r.Context(), op, actor.Name)
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	if !claimed { // submitted twice (or at once, on any replica): applied once already
		http.Redirect(w, r, withParam(f.dialog.Return, "result", op), http.StatusSeeOther)
		return
	}
	reason := r.PostForm.Get("reason")
	onError := func(upn string, err error) {
		if h.Log != nil {
			h.Log.ErrorContext(r.Context(), "quick step failed", "step", f.dialog.Step, "user", upn, "err", err)
		}
	}
	var results []mfa.UserResult
	switch f.action {
	case mfa.ActionExempt:
		hours, aerr := strconv.Atoi(truncateStr(f.dialog.Hours, 20))
		if aerr != nil {
			err = mfa.FieldErrorf("hours", "The number of hours must be a whole number from 1 to %d.", mfa.MaxExemptionHours)
			break
		}
		results, err = h.Service.ApplyExemptions(r.Context(), actor, hours, f.targets, reason, mfa.SourcePage, onError)
	case "":
		results, err = h.Service.ApplyReset(r.Context(), actor, f.dialog.Options, f.targets, reason, mfa.SourcePage, onError)
	default:
		results, err = h.Service.ApplyStep(r.Context(), actor, f.action, f.targets, reason, mfa.SourcePage, onError)
	}
	if err != nil {
		// A problem with the whole form (a missing reason, no option chosen): nothing was applied,
		// so the corrected form may use the same id; show the dialog again with the message.
		if mfa.ErrorCode(err) == mfa.EINVALID {
			if err := h.Results.Release(r.Context(), op, actor.Name); err != nil {
				h.logInternal(r, err)
			}
			d := f.dialog
			d.Op, d.Error, d.ErrorField, d.Applicable = op, mfa.ErrorMessage(err), mfa.ErrorField(err), len(f.targets)
			d.SetupURL = h.setupURL()
			h.renderReturn(w, r, d.Return, http.StatusBadRequest, templates.Step(d), keptFromDialog(d))
			return
		}
		h.ErrorPage(w, r, err)
		return
	}
	d := resultDialog(f.dialog.Return, results)
	d.Step = f.dialog.Step
	if f.dialog.Notify {
		h.notifyEnabled(r, results, &d)
	}
	if err := h.Results.Put(r.Context(), op, actor.Name, d); err != nil {
		h.logInternal(r, err) // applied all the same: the page says the result is not available
	}
	http.Redirect(w, r, withParam(f.dialog.Return, "result", op), http.StatusSeeOther)
}

func resultDialog(ret string, results []mfa.UserResult) templates.ResultDialog {
	d := templates.ResultDialog{Return: ret, Results: results, Counts: map[mfa.Outcome]int{}, OK: true}
	for _, r := range results {
		d.Counts[r.Outcome]++
		if r.Outcome != mfa.OutcomeChanged && r.Outcome != mfa.OutcomeUnchanged {
			d.OK = false
		}
	}
	d.Title = "Updates successful"
	if !d.OK {
		d.Title = "Some updates were not made"
	}
	return d
}

// stepError shows a problem with a quick-step form: bad input goes back to the page with the message.
func (h *Handlers) stepError(w http.ResponseWriter, r *http.Request, err error) {
	if mfa.ErrorCode(err) == mfa.EINVALID {
		h.keepNotice(w, mfa.ErrorMessage(err))
		http.Redirect(w, r, safeReturn(r.PostForm.Get("return")), http.StatusSeeOther)
		return
	}
	h.ErrorPage(w, r, err)
}

// resultFor returns the result dialog named by the request's result parameter, if any.
func (h *Handlers) resultFor(r *http.Request) (*templates.ResultDialog, string) {
	op := r.URL.Query().Get("result")
	if op == "" {
		return nil, ""
	}
	d, ok, err := h.Results.Get(r.Context(), op, Actor(r).Name)
	if err != nil {
		h.logInternal(r, err)
	}
	if !ok {
		return nil, "The result of that update is no longer available; the table shows the current states."
	}
	return &d, ""
}

// renderReturn renders the page a quick step came from (the users page or a user's page) with a
// dialog, keeping the selection on the users page.
func (h *Handlers) renderReturn(w http.ResponseWriter, r *http.Request, ret string, status int, dialog templ.Component, kept selection) {
	u, _ := url.Parse(ret)
	if strings.HasPrefix(u.Path, "/users/") {
		upn, err := url.PathUnescape(strings.TrimPrefix(u.Path, "/users/"))
		if err == nil {
			h.renderUserPage(w, r, upn, u.Query().Get("from"), status, dialog)
			return
		}
	}
	h.renderUsersPage(w, r, u.Query(), status, dialog, kept)
}
