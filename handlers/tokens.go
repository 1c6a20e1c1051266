package handlers

import (
	"net/http"
	"slices"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// TokensPage is GET /tokens: the API tokens (global admins).
func (h *Handlers) TokensPage(w http.ResponseWriter, r *http.Request) {
	v := templates.TokensView{Notice: h.takeNotice(w, r)}
	h.renderTokens(w, r, http.StatusOK, v)
}

func (h *Handlers) renderTokens(w http.ResponseWriter, r *http.Request, status int, v templates.TokensView) {
	list, err := h.Service.ListTokens(r.Context(), Actor(r))
	if err != nil {
		h.ErrorPage(w, r, err)
		return
	}
	v.Tokens = list
	if v.Confirm != nil && !slices.ContainsFunc(list, func(t *mfa.Token) bool { return strings.EqualFold(t.Name, v.Confirm.Fields["name"]) }) {
		v.Confirm, v.Error, status = nil, "There is no API token "+v.Confirm.Fields["name"]+".", http.StatusNotFound
	}
	// The page may hold a new token: never cached, anywhere.
	w.Header().Set("Cache-Control", "no-store")
	Render(r.Context(), w, status, templates.Tokens(PageFor(r, "API tokens", ""), v), h.Log)
}

// CreateToken is POST /tokens: create a token and show it on this response, once. There is no
// redirect (post/redirect/get) here on purpose: the token exists nowhere to be shown again.
func (h *Handlers) CreateToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.ErrorPage(w, r, mfa.Errorf(mfa.EINVALID, "The form could not be read."))
		return
	}
	v := templates.TokensView{Name: strings.TrimSpace(r.PostForm.Get("name")), Role: r.PostForm.Get("role")}
	err := mfa.ValidateTokenName(v.Name)
	if err == nil {
		if _, perr := mfa.ParseRole(v.Role); perr != nil {
			err = &mfa.Error{Code: mfa.EINVALID, Field: "role", Message: "Choose a role: " + mfa.ErrorMessage(perr)}
		}
	}
	var secret string
	var tok *mfa.Token
	if err == nil {
		secret, tok, err = h.Service.CreateToken(r.Context(), Actor(r), v.Name, mfa.Role(v.Role))
	}
	if err != nil {
		h.logInternal(r, err)
		v.Error, v.ErrorField = mfa.ErrorMessage(err), mfa.ErrorField(err)
		h.renderTokens(w, r, StatusFor(err), v)
		return
	}
	h.renderTokens(w, r, http.StatusOK, templates.TokensView{Created: &templates.CreatedToken{Name: tok.Name, Role: tok.Role, Secret: secret}})
}

// RevokeToken is POST /tokens/revoke: delete a token; it stops working at once.
func (h *Handlers) RevokeToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.ErrorPage(w, r, mfa.Errorf(mfa.EINVALID, "The form could not be read."))
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	err := mfa.ValidateTokenName(name)
	if err == nil && r.PostForm.Get("confirmed") != "yes" {
		h.renderTokens(w, r, http.StatusOK, templates.TokensView{Confirm: &templates.ConfirmDialog{
			Title:   "Revoke the token " + name + "?",
			Message: "Scripts that use " + name + " are refused from now on. This cannot be undone: a new token has to be created and given to them.",
			Action:  "/tokens/revoke", Fields: map[string]string{"name": name},
			Confirm: "revoke " + name, Return: "/tokens", Opener: "revoke:" + name,
		}})
		return
	}
	if err == nil {
		err = h.Service.RevokeToken(r.Context(), Actor(r), name)
	}
	if err != nil {
		h.logInternal(r, err)
		h.renderTokens(w, r, StatusFor(err), templates.TokensView{Error: mfa.ErrorMessage(err)})
		return
	}
	h.keepNotice(w, "Revoked the token "+name+": requests with it are refused from now on.")
	http.Redirect(w, r, "/tokens", http.StatusSeeOther)
}
