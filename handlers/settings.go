package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

func settingsView(s mfa.Settings, caps mfa.Capabilities, role mfa.Role) templates.SettingsView {
	return templates.SettingsView{Settings: s, Caps: caps, ReadOnly: !role.Can(mfa.PermSaveSettings),
		RangesText: strings.Join(s.TrustedIPs.Ranges, "\n"), DaysText: strconv.Itoa(s.RememberMFA.Days)}
}

// SettingsPage is GET /settings.
func (h *Handlers) SettingsPage(w http.ResponseWriter, r *http.Request) {
	actor := Actor(r)
	s, caps, err := h.Service.GetSettings(r.Context(), actor)
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	v := settingsView(s, caps, actor.Role)
	switch r.URL.Query().Get("saved") {
	case "1":
		v.Notice = "Your changes have been saved."
	case "0":
		v.Notice = "Nothing had changed: there was nothing to save."
	}
	Render(r.Context(), w, http.StatusOK, templates.ServiceSettings(PageFor(r, "service settings", "settings"), v), h.Log)
}

// SaveSettings is POST /settings: validate everything, save all or nothing, then redirect; on
// errors re-render the form with what the admin typed and each message next to its field.
func (h *Handlers) SaveSettings(w http.ResponseWriter, r *http.Request) {
	actor := Actor(r)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.ErrorPage(w, r, mfa.Errorf(mfa.EINVALID, "the form could not be read: it is larger than 64 KiB or malformed"))
		return
	}
	cur, caps, err := h.Service.GetSettings(r.Context(), actor)
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	f := r.PostForm
	next := cur // sections the backend cannot apply are disabled in the form and keep their value
	var errs mfa.FieldErrors
	check := func(name string) bool { return f.Get(name) == "true" }
	if caps.AppPasswords.Available {
		switch f.Get("appPasswords") {
		case "allow":
			next.AppPasswordsAllowed = true
		case "deny":
			next.AppPasswordsAllowed = false
		default:
			errs = append(errs, mfa.FieldError{Field: "appPasswordsAllowed", Message: "choose whether users may create app passwords (allow or do not allow), found " + strconv.Quote(truncateStr(f.Get("appPasswords"), 20))})
		}
	}
	rangesText := f.Get("ranges")
	if caps.TrustedIPs.Available {
		next.TrustedIPs = mfa.TrustedIPs{SkipForFederatedIntranet: check("skipForFederatedIntranet"), SkipForRanges: check("skipForRanges"),
			Ranges: strings.Split(strings.ReplaceAll(rangesText, "\r\n", "\n"), "\n")}
	}
	if caps.VerificationOptions.Available {
		next.VerificationOptions = mfa.VerificationOptions{Call: check("call"), SMS: check("sms"), AppNotification: check("appNotification"), AppCode: check("appCode")}
	}
	daysText := strings.TrimSpace(f.Get("rememberDays"))
	if caps.RememberMFA.Available {
		next.RememberMFA.Enabled = check("rememberMfa")
		days, err := strconv.Atoi(daysText)
		if err != nil {
			errs = append(errs, mfa.FieldError{Field: mfa.FieldRememberDays, Message: "the number of days must be a whole number from 1 to 365, found " + strconv.Quote(truncateStr(daysText, 20))})
			days = cur.RememberMFA.Days
		}
		next.RememberMFA.Days = days
	}
	if len(errs) == 0 {
		var changed bool
		_, changed, err = h.Service.SaveSettings(r.Context(), actor, next, mfa.SourcePage)
		if err == nil {
			http.Redirect(w, r, "/settings?saved="+map[bool]string{true: "1", false: "0"}[changed], http.StatusSeeOther)
			return
		}
		if fe, ok := err.(mfa.FieldErrors); ok {
			errs = fe
		} else {
			h.ErrorPage(w, r, err)
			return
		}
	} else if more := next.Validate(caps); len(more) > 0 {
		errs = append(errs, more...) // show every problem at once
	}
	v := settingsView(next, caps, actor.Role)
	v.RangesText, v.DaysText, v.Errors = rangesText, daysText, errs
	Render(r.Context(), w, http.StatusBadRequest, templates.ServiceSettings(PageFor(r, "service settings", "settings"), v), h.Log)
}

// APIGetSettings is GET /api/v1/settings.
func (h *Handlers) APIGetSettings(w http.ResponseWriter, r *http.Request) {
	s, _, err := h.Service.GetSettings(r.Context(), Actor(r))
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, s)
}

// APIPutSettings is PUT /api/v1/settings with the whole settings document.
func (h *Handlers) APIPutSettings(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AppPasswordsAllowed *bool                    `json:"appPasswordsAllowed"`
		TrustedIPs          *mfa.TrustedIPs          `json:"trustedIps"`
		VerificationOptions *mfa.VerificationOptions `json:"verificationOptions"`
		RememberMFA         *mfa.RememberMFA         `json:"rememberMfa"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	for field, missing := range map[string]bool{"appPasswordsAllowed": body.AppPasswordsAllowed == nil, "trustedIps": body.TrustedIPs == nil,
		"verificationOptions": body.VerificationOptions == nil, "rememberMfa": body.RememberMFA == nil} {
		if missing {
			h.APIErrorResponse(w, r, mfa.FieldErrorf(field, "%s is required: PUT takes the whole settings document (GET it first)", field))
			return
		}
	}
	next := mfa.Settings{AppPasswordsAllowed: *body.AppPasswordsAllowed, TrustedIPs: *body.TrustedIPs,
		VerificationOptions: *body.VerificationOptions, RememberMFA: *body.RememberMFA}
	saved, _, err := h.Service.SaveSettings(r.Context(), Actor(r), next, mfa.SourceAPI)
	if err != nil {
		if fe, ok := err.(mfa.FieldErrors); ok {
			err = fe.AsError()
		}
		h.APIErrorResponse(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, saved)
}
