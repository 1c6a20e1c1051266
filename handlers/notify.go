package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// notifyView fills what the registration tab needs to offer notify, and the result of the last one.
func (h *Handlers) notifyView(r *http.Request, v *templates.RegistrationView) {
	v.CanNotify = Actor(r).Role.Can(mfa.PermManageSettings)
	if err := h.Service.NotifyReady(); err != nil {
		v.MailReady = mfa.ErrorMessage(err)
	}
	v.Op = NewOp()
	if v.Dialog == nil {
		if d, gone := h.resultFor(r); d != nil {
			v.Dialog = templates.Result(*d)
		} else if gone != "" {
			v.Notices = append(v.Notices, gone)
		}
	}
}

// Notify is POST /registration/notify: send each selected user their registration email, then
// show, user by user, what was sent (post, redirect, get; a form sent twice sends once).
func (h *Handlers) Notify(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.ErrorPage(w, r, mfa.Errorf(mfa.EINVALID, "the form could not be read: %v", err))
		return
	}
	actor := Actor(r)
	op := r.PostForm.Get("op")
	if !validOp(op) {
		h.renderRegistration(w, r, "", http.StatusBadRequest, nil, "This form is not valid: reload the page and select the users again.")
		return
	}
	upns := r.PostForm["sel"]
	if len(upns) == 0 {
		h.renderRegistration(w, r, "", http.StatusBadRequest, nil, "Select one or more users to notify first.")
		return
	}
	claimed, err := h.Results.Claim(r.Context(), op, actor.Name)
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	if !claimed { // submitted twice (or at once, on any replica): sent once already
		http.Redirect(w, r, "/registration?result="+op, http.StatusSeeOther)
		return
	}
	results, err := h.Service.NotifyUsers(r.Context(), actor, upns, mfa.SourcePage)
	if err != nil {
		if err := h.Results.Release(r.Context(), op, actor.Name); err != nil {
			h.logInternal(r, err)
		}
		if c := mfa.ErrorCode(err); c == mfa.EINVALID || c == mfa.EUNAVAILABLE {
			h.renderRegistration(w, r, "", StatusFor(err), nil, mfa.ErrorMessage(err))
			return
		}
		h.ErrorPage(w, r, err)
		return
	}
	d := templates.ResultDialog{Return: "/registration", Notified: results, OK: true, Title: "Notifications sent"}
	for _, res := range results {
		if res.Outcome != mfa.OutcomeChanged && res.Outcome != mfa.OutcomeUnchanged {
			d.OK, d.Title = false, "Some notifications were not sent"
		}
	}
	if err := h.Results.Put(r.Context(), op, actor.Name, d); err != nil {
		h.logInternal(r, err) // sent all the same: the page says the result is not available
	}
	http.Redirect(w, r, "/registration?result="+op, http.StatusSeeOther)
}

// notifyEnabled sends the registration email to the users an enable changed, when the admin asked
// for it in the enable dialog ("Notify users by email"), and adds what it sent to the result.
func (h *Handlers) notifyEnabled(r *http.Request, results []mfa.UserResult, d *templates.ResultDialog) {
	var upns []string
	for _, res := range results {
		if res.Outcome == mfa.OutcomeChanged && res.After == mfa.StateEnabled {
			upns = append(upns, res.UPN)
		}
	}
	if len(upns) == 0 {
		return
	}
	sent, err := h.Service.NotifyUsers(r.Context(), Actor(r), upns, mfa.SourcePage)
	if err != nil {
		h.logInternal(r, err)
		d.NotifyError = mfa.ErrorMessage(err)
		return
	}
	d.Notified = sent
}

// NotifyTemplatePage is GET /registration/template: the registration email, with a preview.
func (h *Handlers) NotifyTemplatePage(w http.ResponseWriter, r *http.Request) {
	t, err := h.Service.NotifyTemplate(r.Context(), Actor(r))
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	v := templates.NotifyTemplateView{Template: t}
	if r.URL.Query().Get("saved") == "1" {
		v.Notice = "The registration email was saved."
	}
	h.renderNotifyTemplate(w, r, http.StatusOK, v)
}

// SaveNotifyTemplate is POST /registration/template: preview what was typed, or save it.
func (h *Handlers) SaveNotifyTemplate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.ErrorPage(w, r, mfa.Errorf(mfa.EINVALID, "the form could not be read: %v", err))
		return
	}
	version, _ := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	t := mfa.NotifyTemplate{Subject: r.PostForm.Get("subject"), Body: r.PostForm.Get("body"), Version: version}
	v := templates.NotifyTemplateView{Template: t}
	if r.PostForm.Get("action") == "save" {
		if _, err := h.Service.SaveNotifyTemplate(r.Context(), Actor(r), t); err != nil {
			h.notifyTemplateError(w, r, v, err)
			return
		}
		http.Redirect(w, r, "/registration/template?saved=1", http.StatusSeeOther)
		return
	}
	if err := v.Template.Validate(); err != nil {
		h.notifyTemplateError(w, r, v, err)
		return
	}
	h.renderNotifyTemplate(w, r, http.StatusOK, v)
}

func (h *Handlers) notifyTemplateError(w http.ResponseWriter, r *http.Request, v templates.NotifyTemplateView, err error) {
	if f := mfa.ErrorField(err); f != "" {
		v.Errors = mfa.FieldErrors{{Field: f, Message: mfa.ErrorMessage(err)}}
	} else {
		v.Error = mfa.ErrorMessage(err)
	}
	h.logInternal(r, err)
	h.renderNotifyTemplate(w, r, StatusFor(err), v)
}

// renderNotifyTemplate shows the page, with the preview for the first user awaiting registration
// (or a sample user) when the template is valid.
func (h *Handlers) renderNotifyTemplate(w http.ResponseWriter, r *http.Request, status int, v templates.NotifyTemplateView) {
	actor := Actor(r)
	v.CanSave = actor.Role.Can(mfa.PermBulkUpdate)
	now := h.Service.CurrentTime()
	sample := &mfa.User{UPN: "adele.vance@contoso.com", DisplayName: "Adele Vance", State: mfa.StateEnabled, EnabledAt: now.Add(-3 * 24 * time.Hour)}
	if page, err := h.Service.AwaitingRegistration(r.Context(), actor, mfa.RegistrationFilter{Limit: 1}); err == nil && len(page.Users) > 0 {
		sample = page.Users[0]
	}
	if len(v.Errors) == 0 {
		check := v.Template
		if check.Validate() == nil {
			link := h.Service.SetupURL
			if link == "" {
				link = "(no registration link is configured: MFAPORTAL_SETUP_URL)"
			}
			m := check.Render(sample, link, now)
			v.Preview, v.Sample = &m, sample.DisplayName
		}
	}
	Render(r.Context(), w, status, templates.NotifyTemplatePage(PageFor(r, "registration email", "registration"), v), h.Log)
}
