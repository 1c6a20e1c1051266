package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// maxJSONBody bounds an API request body.
const maxJSONBody = 1 << 20

// decodeJSON reads one JSON object into v, refusing unknown fields, trailing data, a wrong content
// type and an oversized body, with a message that says what was expected.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return mfa.Errorf(mfa.EINVALID, "Content-Type is %q: expected application/json", truncateStr(ct, 60))
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &mbe):
			return mfa.Errorf(mfa.ETOOLARGE, "the request body is larger than %d bytes", maxJSONBody)
		case errors.Is(err, io.EOF):
			return mfa.Errorf(mfa.EINVALID, "the request body is empty: expected a JSON object")
		case errors.As(err, &te):
			return mfa.FieldErrorf(te.Field, "field %q must be %s, found %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		case errors.As(err, &se):
			return mfa.Errorf(mfa.EINVALID, "the request body is not valid JSON (at byte %d): %v", se.Offset, err)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return mfa.FieldErrorf(name, "unknown field %q", name)
		}
		return mfa.Errorf(mfa.EINVALID, "the request body is not a valid JSON object: %v", err)
	}
	if dec.More() {
		return mfa.Errorf(mfa.EINVALID, "the request body has data after the JSON object")
	}
	return nil
}

func jsonKind(k string) string {
	switch k {
	case "bool":
		return "true or false"
	case "int", "int64":
		return "a whole number"
	case "string":
		return "a string"
	}
	return k
}

func upnParam(r *http.Request) string {
	upn, err := url.PathUnescape(chi.URLParam(r, "upn"))
	if err != nil {
		return chi.URLParam(r, "upn")
	}
	return upn
}

// APISetState is POST /api/v1/users/{upn}/state {"state", "reason", "version"}.
func (h *Handlers) APISetState(w http.ResponseWriter, r *http.Request) {
	var body struct {
		State   *string `json:"state"`
		Reason  string  `json:"reason"`
		Version int64   `json:"version"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	if body.State == nil {
		h.APIErrorResponse(w, r, mfa.FieldErrorf("state", "state is required: enabled, enforced or disabled"))
		return
	}
	st, err := mfa.ParseState(*body.State)
	if err != nil {
		h.APIErrorResponse(w, r, mfa.FieldErrorf("state", "%s", mfa.ErrorMessage(err)))
		return
	}
	if body.Version < 0 {
		h.APIErrorResponse(w, r, mfa.FieldErrorf("version", "version must be a positive number"))
		return
	}
	u, changed, err := h.Service.SetState(r.Context(), Actor(r), mfa.StateRequest{UPN: upnParam(r), To: st, Version: body.Version,
		Reason: body.Reason, Source: mfa.SourceAPI})
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, struct {
		User    APIUser `json:"user"`
		Changed bool    `json:"changed"`
	}{NewAPIUser(u), changed})
}

// APIReset is POST /api/v1/users/{upn}/reset {"contactMethods", "appPasswords", "rememberedDevices", "reason"}.
func (h *Handlers) APIReset(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ContactMethods    bool   `json:"contactMethods"`
		AppPasswords      bool   `json:"appPasswords"`
		RememberedDevices bool   `json:"rememberedDevices"`
		Reason            string `json:"reason"`
		Version           int64  `json:"version"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	u, _, err := h.Service.ResetUser(r.Context(), Actor(r), mfa.ResetRequest{UPN: upnParam(r), Version: body.Version,
		Options: mfa.ResetOptions{ContactMethods: body.ContactMethods, AppPasswords: body.AppPasswords, RememberedDevices: body.RememberedDevices},
		Reason:  body.Reason, Source: mfa.SourceAPI})
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, struct {
		User APIUser `json:"user"`
	}{NewAPIUser(u)})
}
