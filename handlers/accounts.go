package handlers

import (
	"net/http"
	"slices"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// AccountsPage is GET /accounts: the local accounts (global admins).
func (h *Handlers) AccountsPage(w http.ResponseWriter, r *http.Request) {
	v := templates.AccountsView{Notice: h.takeNotice(w, r)}
	h.renderAccounts(w, r, http.StatusOK, v)
}

func (h *Handlers) renderAccounts(w http.ResponseWriter, r *http.Request, status int, v templates.AccountsView) {
	list, err := h.Service.ListAccounts(r.Context(), Actor(r))
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	v.Accounts = list
	if v.Confirm != nil && !slices.ContainsFunc(list, func(a *mfa.Account) bool { return strings.EqualFold(a.Name, v.Confirm.Fields["name"]) }) {
		v.Confirm, v.Error, status = nil, "There is no local account "+v.Confirm.Fields["name"]+".", http.StatusNotFound
	}
	if a := Actor(r); a.Method == "local" {
		for _, acc := range list {
			if strings.EqualFold(acc.Name, a.Name) {
				v.Self = acc.Name
			}
		}
	}
	Render(r.Context(), w, status, templates.Accounts(PageFor(r, "local accounts", ""), v), h.Log)
}

// AddAccount is POST /accounts: add a local account with a role and a password.
func (h *Handlers) AddAccount(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.ErrorPage(w, r, mfa.Errorf(mfa.EINVALID, "The form could not be read."))
		return
	}
	v := templates.AccountsView{Name: strings.TrimSpace(r.PostForm.Get("name")), Role: r.PostForm.Get("role")}
	password := r.PostForm.Get("password")
	err := mfa.ValidateAccountName(v.Name)
	if err == nil {
		if _, perr := mfa.ParseRole(v.Role); perr != nil {
			err = &mfa.Error{Code: mfa.EINVALID, Field: "role", Message: "Choose a role: " + mfa.ErrorMessage(perr)}
		}
	}
	if err == nil {
		err = mfa.ValidatePassword(password)
	}
	if err == nil && password != r.PostForm.Get("confirm") {
		err = mfa.FieldErrorf("confirm", "the two passwords differ: type the same password twice")
	}
	if err == nil {
		err = h.Service.CreateAccount(r.Context(), Actor(r), v.Name, mfa.Role(v.Role), password)
		if mfa.ErrorCode(err) == mfa.ECONFLICT {
			err = &mfa.Error{Code: mfa.ECONFLICT, Field: "name", Message: mfa.ErrorMessage(err)}
		}
	}
	if err != nil {
		h.logInternal(r, err)
		v.Error, v.ErrorField = mfa.ErrorMessage(err), mfa.ErrorField(err)
		h.renderAccounts(w, r, StatusFor(err), v)
		return
	}
	h.keepNotice(w, "Added the account "+v.Name+".")
	http.Redirect(w, r, "/accounts", http.StatusSeeOther)
}

// RemoveAccount is POST /accounts/remove: remove a local account and end its sessions.
func (h *Handlers) RemoveAccount(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.ErrorPage(w, r, mfa.Errorf(mfa.EINVALID, "The form could not be read."))
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	err := mfa.ValidateAccountName(name)
	if err == nil && r.PostForm.Get("confirmed") != "yes" {
		h.renderAccounts(w, r, http.StatusOK, templates.AccountsView{Confirm: &templates.ConfirmDialog{
			Title:   "Remove the account " + name + "?",
			Message: name + " will no longer sign in to the portal, and the sessions open with it end now. This cannot be undone: to let them back in, add the account again.",
			Action:  "/accounts/remove", Fields: map[string]string{"name": name},
			Confirm: "remove " + name, Return: "/accounts", Opener: "remove:" + name,
		}})
		return
	}
	if err == nil {
		err = h.Service.RemoveAccount(r.Context(), Actor(r), name)
	}
	if err != nil {
		h.logInternal(r, err)
		h.renderAccounts(w, r, StatusFor(err), templates.AccountsView{Error: mfa.ErrorMessage(err)})
		return
	}
	h.keepNotice(w, "Removed the account "+name+"; its sessions are signed out.")
	http.Redirect(w, r, "/accounts", http.StatusSeeOther)
}
