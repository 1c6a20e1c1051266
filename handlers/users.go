package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// UsersPage is the users tab (GET /users).
func (h *Handlers) UsersPage(w http.ResponseWriter, r *http.Request) {
	h.renderUsersPage(w, r, r.URL.Query(), http.StatusOK, nil, selection{})
}

// stepsFor lists the quick steps the role may take at all.
func stepsFor(role mfa.Role) []mfa.Action {
	if !role.Can(mfa.PermChangeState) {
		return nil
	}
	return []mfa.Action{mfa.ActionEnable, mfa.ActionEnforce, mfa.ActionDisable}
}

// renderUsersPage renders the users page for the URL parameters q, with an optional dialog over it.
func (h *Handlers) renderUsersPage(w http.ResponseWriter, r *http.Request, q url.Values, status int, dialog templ.Component, kept selection) {
	actor := Actor(r)
	p := parseListParams(q)
	p.dropUnoffered(h.capabilities())
	page, err := h.Service.ListUsers(r.Context(), actor, p.filter)
	if mfa.ErrorField(err) == "cursor" {
		p.notices = append(p.notices, "The page link is no longer valid; showing the first page.")
		p.filter.After, p.filter.Before = "", ""
		page, err = h.Service.ListUsers(r.Context(), actor, p.filter)
	}
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	if n := h.takeNotice(w, r); n != "" {
		p.notices = append(p.notices, n)
	}
	if dialog == nil {
		if d, gone := h.resultFor(r); d != nil {
			dialog = templates.Result(*d)
			kept = keptFromResult(*d)
		} else if gone != "" {
			p.notices = append(p.notices, gone)
		}
	}
	// The page number is a label carried in the URL; keep it consistent with what we know.
	pages := max(1, (page.Total+p.filter.Limit-1)/p.filter.Limit)
	switch {
	case page.PrevCursor == "":
		p.pageNum = 1
	case page.NextCursor == "":
		p.pageNum = pages
	default:
		p.pageNum = min(max(p.pageNum, 2), pages-1)
	}
	base := p.values()
	v := templates.UsersView{
		View: p.filter.View, Status: p.filter.Status, Query: p.filter.Query,
		Page: page, PageNum: p.pageNum, PerPage: p.filter.Limit, Notices: p.notices,
		Sort: p.filter.Sort, Order: p.filter.Order,
		FirstURL:          listURL("/users", base),
		Export:            listURL("/users/export", base),
		Filter:            base.Encode(),
		CanBulk:           actor.Role.Can(mfa.PermBulkUpdate),
		Steps:             stepsFor(actor.Role),
		CanReset:          actor.Role.Can(mfa.PermManageSettings),
		Dialog:            dialog,
		Sync:              h.syncView(r),
		MaxStep:           h.capabilities().MaxStep(),
		ConditionalAccess: h.capabilities().ConditionalAccess,
		Selected:          kept.upns, AllSelected: kept.all, Changed: kept.changed,
	}
	if len(v.Steps) > 0 && h.Service.Exemptions != nil {
		v.Steps = append(v.Steps, mfa.ActionExempt) // Disable for a while (SPEC §10)
	}
	for _, c := range mfa.Choices {
		if c.Offered(h.capabilities()) {
			v.Choices = append(v.Choices, templates.ChoiceView{Choice: c, Value: c.Get(&p.filter)})
		}
	}
	for _, s := range mfa.SortFields {
		col := templates.SortColumn{Label: s.Label(), URL: p.sortURL(s)}
		if s == p.filter.Sort {
			col.AriaSort = p.filter.Order.AriaSort()
		}
		v.Columns = append(v.Columns, col)
	}
	if page.PrevCursor != "" {
		v.PrevURL = listURL("/users", base, "before", page.PrevCursor, "page", strconv.Itoa(p.pageNum-1))
	}
	if page.NextCursor != "" {
		v.NextURL = listURL("/users", base, "after", page.NextCursor, "page", strconv.Itoa(p.pageNum+1))
	}
	switch {
	case p.filter.After != "":
		v.Self = listURL("/users", base, "after", p.filter.After, "page", strconv.Itoa(p.pageNum))
	case p.filter.Before != "":
		v.Self = listURL("/users", base, "before", p.filter.Before, "page", strconv.Itoa(p.pageNum))
	default:
		v.Self = v.FirstURL
	}
	pg := PageFor(r, "users", "users")
	pg.QuickSteps = len(page.Users) > 0 && (len(v.Steps) > 0 || v.CanReset)
	Render(r.Context(), w, status, templates.Users(pg, v), h.Log)
}

// UserPage is one user's page (GET /users/{upn}).
func (h *Handlers) UserPage(w http.ResponseWriter, r *http.Request) {
	upn, err := url.PathUnescape(chi.URLParam(r, "upn"))
	if err != nil {
		upn = chi.URLParam(r, "upn")
	}
	h.renderUserPage(w, r, upn, r.URL.Query().Get("from"), http.StatusOK, nil)
}

// renderUserPage renders a user's page with its history, and an optional dialog over it.
func (h *Handlers) renderUserPage(w http.ResponseWriter, r *http.Request, upn, from string, status int, dialog templ.Component, notices ...string) {
	h.renderUserPageWith(w, r, upn, from, status, dialog, nil, notices...)
}

// renderUserPageWith is renderUserPage with edit, when not nil, applied to the view last (a
// refused form's values and error).
func (h *Handlers) renderUserPageWith(w http.ResponseWriter, r *http.Request, upn, from string, status int, dialog templ.Component,
	edit func(*templates.UserView), notices ...string) {
	actor := Actor(r)
	u, err := h.Service.GetUser(r.Context(), actor, upn)
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	history, err := h.Service.UserHistory(r.Context(), actor, u.UPN, 20)
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	settings, _, err := h.Service.GetSettings(r.Context(), actor)
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	if !strings.HasPrefix(from, "/users?") {
		from = "/users"
	}
	self := templates.UserURL(u.UPN)
	if from != "/users" {
		self += "?from=" + url.QueryEscape(from)
	}
	v := templates.UserView{User: u, BackURL: from, Self: self, History: history, Dialog: dialog, AppPasswordsAllowed: settings.AppPasswordsAllowed,
		CanReset: actor.Role.CanOn(mfa.PermManageSettings, u.Privileged), ConditionalAccess: h.capabilities().ConditionalAccess}
	if v.Security, err = h.userSecurity(r, u); err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	if actor.Role.CanOn(mfa.PermChangeState, u.Privileged) {
		v.Steps = mfa.AvailableActions([]mfa.State{u.State})
	}
	v.CanExempt, v.Now = actor.Role.CanOn(mfa.PermChangeState, u.Privileged) && h.Service.Exemptions != nil, h.Service.CurrentTime()
	if v.Exemption, err = h.Service.GetExemption(r.Context(), actor, u.UPN); err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	if len(notices) > 0 {
		v.Notice = strings.Join(notices, " ")
	}
	if v.Dialog == nil {
		if d, _ := h.resultFor(r); d != nil {
			v.Dialog = templates.Result(*d)
		}
	}
	if n := h.takeNotice(w, r); n != "" && dialog == nil {
		v.Notice = n
	}
	if edit != nil {
		edit(&v)
	}
	Render(r.Context(), w, status, templates.UserPage(PageFor(r, mfa.CleanText(u.DisplayName), "users"), v), h.Log)
}

// ExportUsers streams the current filtered view as CSV (GET /users/export).
func (h *Handlers) ExportUsers(w http.ResponseWriter, r *http.Request) {
	p := parseListParams(r.URL.Query())
	p.dropUnoffered(h.capabilities())
	if len(p.problems) > 0 {
		h.ErrorPage(w, r, mfa.Errorf(mfa.EINVALID, "%s Nothing was exported.", strings.Join(p.problems, " ")))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="mfa-users.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	if err := h.Service.ExportUsers(r.Context(), Actor(r), p.filter, w); err != nil {
		// Headers are gone once the first rows are written; log and cut the stream short.
		h.logInternal(r, err)
		if h.Log != nil && mfa.ErrorCode(err) != mfa.EINTERNAL {
			h.Log.WarnContext(r.Context(), "export stopped", "err", mfa.ErrorMessage(err))
		}
	}
}
