package graphemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
)

// parsePatch decodes a PATCH body into its properties, refusing an empty body and properties the
// type does not have, as Graph does.
func (s *Server) parsePatch(c *call, typeName string, allowed ...string) (map[string]json.RawMessage, *result) {
	if len(bytes.TrimSpace(c.body)) == 0 {
		res := s.badRequest(c, "Empty Payload. JSON content expected.")
		return nil, &res
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &props); err != nil || props == nil {
		res := s.badRequest(c, "Invalid JSON in the request body: a JSON object is expected.")
		return nil, &res
	}
	for k := range props {
		if strings.HasPrefix(k, "@odata.") || slices.Contains(allowed, k) {
			continue
		}
		res := s.badRequest(c, fmt.Sprintf("Property '%s' does not exist on type 'microsoft.graph.%s'. Make sure to only use property names that are defined by the type.", k, typeName))
		return nil, &res
	}
	return props, nil
}

// stringProp reads a string-valued property; ok is false when it is absent.
func (s *Server) stringProp(c *call, props map[string]json.RawMessage, name string) (string, bool, *result) {
	raw, ok := props[name]
	if !ok {
		return "", false, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		res := s.badRequest(c, fmt.Sprintf("Invalid value for property '%s': a string is expected.", name))
		return "", true, &res
	}
	return v, true, nil
}

func (c *call) userContext(id, tail string) string {
	return fmt.Sprintf("%s/%s/$metadata#users('%s')/authentication/%s", c.base, c.version, id, tail)
}

// getRequirements answers GET /beta/users/{id}/authentication/requirements.
func (s *Server) getRequirements(c *call) result {
	s.dir.mu.RLock()
	u := s.dir.lookup(c.segs[1])
	var id string
	var st mfa.State
	if u != nil {
		id, st = u.id, u.state
	}
	s.dir.mu.RUnlock()
	if u == nil {
		return s.notFoundUser(c, c.segs[1])
	}
	return jsonResult(http.StatusOK, obj{
		{"@odata.context", c.userContext(id, "requirements/$entity")},
		{"perUserMfaState", string(st)},
	})
}

// patchRequirements answers PATCH /beta/users/{id}/authentication/requirements with 204. Setting
// "enabled" on a user who already registered an MFA method makes them "enforced", as Graph does.
func (s *Server) patchRequirements(c *call) result {
	props, errRes := s.parsePatch(c, "strongAuthenticationRequirements", "perUserMfaState")
	if errRes != nil {
		return *errRes
	}
	v, set, errRes := s.stringProp(c, props, "perUserMfaState")
	if errRes != nil {
		return *errRes
	}
	st := mfa.State(v)
	if set && !st.Valid() {
		return s.badRequest(c, fmt.Sprintf("Invalid value '%s' for property 'perUserMfaState': expected disabled, enabled or enforced.", v))
	}
	s.dir.mu.Lock()
	u := s.dir.lookup(c.segs[1])
	changed := false
	if u != nil && set {
		if st == mfa.StateEnabled && u.hasMFAMethods() {
			st = mfa.StateEnforced
		}
		changed = u.state != st
		u.state = st
	}
	s.dir.mu.Unlock()
	if u == nil {
		return s.notFoundUser(c, c.segs[1])
	}
	if changed {
		s.stats.stateChanges.Add(1)
	}
	return noContent()
}

// getSignInPreferences answers GET /beta/users/{id}/authentication/signInPreferences
// (api-reference/beta/api/authentication-get.md, example 1). isSystemPreferredAuthenticationMethodEnabled
// follows the tenant's systemCredentialPreferences unless PATCHed for the user.
func (s *Server) getSignInPreferences(c *call) result {
	s.dir.mu.RLock()
	u := s.dir.lookup(c.segs[1])
	var id string
	var pref any
	sysPref := s.dir.policy.systemPreferredOn()
	if u != nil {
		id = u.id
		if _, m := u.method(u.defaultID); m != nil {
			pref = preferredValue(m.typ)
		}
		if u.systemPreferred != nil {
			sysPref = *u.systemPreferred
		}
	}
	s.dir.mu.RUnlock()
	if u == nil {
		return s.notFoundUser(c, c.segs[1])
	}
	return jsonResult(http.StatusOK, obj{
		{"@odata.context", c.userContext(id, "signInPreferences/$entity")},
		{"isSystemPreferredAuthenticationMethodEnabled", sysPref},
		{"userPreferredMethodForSecondaryAuthentication", pref},
	})
}

// patchSignInPreferences answers PATCH /beta/users/{id}/authentication/signInPreferences: it
// changes the user's default method to the first registered method of the named kind.
func (s *Server) patchSignInPreferences(c *call) result {
	props, errRes := s.parsePatch(c, "signInPreferences", "userPreferredMethodForSecondaryAuthentication",
		"isSystemPreferredAuthenticationMethodEnabled")
	if errRes != nil {
		return *errRes
	}
	v, set, errRes := s.stringProp(c, props, "userPreferredMethodForSecondaryAuthentication")
	if errRes != nil {
		return *errRes
	}
	var sysPref *bool
	if raw, ok := props["isSystemPreferredAuthenticationMethodEnabled"]; ok {
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return s.badRequest(c, "Invalid value for property 'isSystemPreferredAuthenticationMethodEnabled': a Boolean is expected.")
		}
		sysPref = &b
	}
	var kinds []mfa.MethodType
	if set {
		kinds = map[string][]mfa.MethodType{
			"push":                 {mfa.MethodAuthenticatorPush},
			"oath":                 {mfa.MethodSoftwareOTP, mfa.MethodHardwareOTP},
			"sms":                  {mfa.MethodMobilePhone},
			"voiceMobile":          {mfa.MethodMobilePhone},
			"voiceAlternateMobile": {mfa.MethodAlternateMobilePhone},
			"voiceOffice":          {mfa.MethodOfficePhone},
		}[v]
		if kinds == nil {
			return s.badRequest(c, fmt.Sprintf("Invalid value '%s' for property 'userPreferredMethodForSecondaryAuthentication': expected push, oath, voiceMobile, voiceAlternateMobile, voiceOffice or sms.", v))
		}
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	u := s.dir.lookup(c.segs[1])
	if u == nil {
		return s.notFoundUser(c, c.segs[1])
	}
	if set {
		found := ""
		for _, m := range u.methods {
			if slices.Contains(kinds, m.typ) {
				found = m.id
				break
			}
		}
		if found == "" {
			return s.badRequest(c, fmt.Sprintf("The user has no registered authentication method for '%s'.", v))
		}
		u.defaultID = found
	}
	if sysPref != nil {
		u.systemPreferred = sysPref
	}
	return noContent()
}

var authenticatorDevices = []string{"iPhone 15", "Pixel 8", "Galaxy S24", "iPhone 13", "Surface Duo", "Pixel 7a"}

// methodJSON renders a method as Graph does for its type.
func methodJSON(u *user, m *method) obj {
	created := m.created.UTC().Format("2006-01-02T15:04:05Z")
	n := u.seq
	switch m.typ {
	case mfa.MethodMobilePhone, mfa.MethodAlternateMobilePhone, mfa.MethodOfficePhone:
		phoneType, number := "mobile", fmt.Sprintf("+1 425555%04d", n%10000)
		switch m.typ {
		case mfa.MethodAlternateMobilePhone:
			phoneType, number = "alternateMobile", fmt.Sprintf("+1 206555%04d", n%10000)
		case mfa.MethodOfficePhone:
			phoneType, number = "office", fmt.Sprintf("+1 425707%04dx%d", n%10000, 100+n%900)
		}
		return obj{{"@odata.type", odataPhoneMethod}, {"id", m.id}, {"phoneNumber", number},
			{"phoneType", phoneType}, {"smsSignInState", "notAllowedByPolicy"}}
	case mfa.MethodAuthenticatorPush:
		return obj{{"@odata.type", odataAuthenticator}, {"id", m.id},
			{"displayName", authenticatorDevices[n%uint64(len(authenticatorDevices))]},
			{"deviceTag", "SoftwareTokenActivated"}, {"phoneAppVersion", "6.2501.0117"}, {"createdDateTime", created}}
	case mfa.MethodSoftwareOTP:
		return obj{{"@odata.type", odataSoftwareOath}, {"id", m.id}, {"secretKey", nil}}
	case mfa.MethodHardwareOTP:
		// api-reference/beta/resources/hardwareoathauthenticationmethod.md: id and createdDateTime
		// (the token's details are its device relationship).
		return obj{{"@odata.type", odataHardwareOath}, {"id", m.id}, {"createdDateTime", created}}
	case mfa.MethodFIDO2:
		return obj{{"@odata.type", odataFido2}, {"id", m.id}, {"displayName", "Security key"},
			{"createdDateTime", created}, {"aaGuid", "cb69481e-8ff7-4039-93ec-0a2729a154a8"},
			{"model", "YubiKey 5 Series"}, {"attestationCertificates", []string{}}, {"attestationLevel", "attested"}}
	case mfa.MethodEmail:
		local, _, _ := strings.Cut(u.upn, "@")
		return obj{{"@odata.type", odataEmail}, {"id", m.id}, {"emailAddress", local + ".home@outlook.com"}}
	}
	return obj{{"id", m.id}}
}

func passwordJSON(u *user) obj {
	return obj{{"@odata.type", odataPassword}, {"id", PasswordMethodID}, {"password", nil},
		{"createdDateTime", u.created.UTC().Format("2006-01-02T15:04:05Z")}}
}

// collectionAccepts reports whether the collection segment (lower case) holds methods of type t in
// an API version. Hardware OATH tokens exist only on beta: "Hardware token" is among the methods
// "not yet supported in Microsoft Graph v1.0" (api-reference/v1.0/resources/authenticationmethods-overview.md),
// and a list returns "only the methods supported on this API version" (v1.0 authentication-list-methods.md).
func collectionAccepts(version, seg string, t mfa.MethodType) bool {
	if t == mfa.MethodHardwareOTP && version != "beta" {
		return false
	}
	return seg == "methods" || segmentOf(t) == seg
}

// listMethods answers GET /users/{id}/authentication/methods and the typed collections.
func (s *Server) listMethods(c *call) result {
	seg := strings.ToLower(c.segs[3])
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	u := s.dir.lookup(c.segs[1])
	if u == nil {
		return s.notFoundUser(c, c.segs[1])
	}
	values := []any{}
	if seg == "methods" || seg == segPassword {
		values = append(values, passwordJSON(u))
	}
	for i := range u.methods {
		if collectionAccepts(c.version, seg, u.methods[i].typ) {
			values = append(values, methodJSON(u, &u.methods[i]))
		}
	}
	return jsonResult(http.StatusOK, obj{
		{"@odata.context", c.userContext(u.id, c.segs[3])},
		{"value", values},
	})
}

// getMethod answers GET /users/{id}/authentication/{collection}/{methodId}.
func (s *Server) getMethod(c *call) result {
	seg, mid := strings.ToLower(c.segs[3]), c.segs[4]
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	u := s.dir.lookup(c.segs[1])
	if u == nil {
		return s.notFoundUser(c, c.segs[1])
	}
	ctx := c.userContext(u.id, c.segs[3]+"/$entity")
	if strings.EqualFold(mid, PasswordMethodID) && (seg == "methods" || seg == segPassword) {
		return jsonResult(http.StatusOK, append(obj{{"@odata.context", ctx}}, passwordJSON(u)...))
	}
	if _, m := u.method(mid); m != nil && collectionAccepts(c.version, seg, m.typ) {
		return jsonResult(http.StatusOK, append(obj{{"@odata.context", ctx}}, methodJSON(u, m)...))
	}
	return s.methodNotFound(c, mid)
}

func (s *Server) methodNotFound(c *call, id string) result {
	return s.graphError(c, http.StatusNotFound, "itemNotFound",
		fmt.Sprintf("The authentication method '%s' was not found for this user.", id))
}

// deleteMethod answers DELETE /users/{id}/authentication/{typed collection}/{methodId} with 204.
// Refused with 400, as Graph does:
//   - the password method;
//   - the mobile phone while an alternate mobile phone remains: "A user can't have an
//     alternateMobile number without a mobile number" (v1.0 phoneauthenticationmethod-delete.md);
//   - the default method while any other method remains, with Graph's code and message
//     (microsoft-graph-docs issue #14470: "badRequest", "Cannot delete default method with other
//     methods configured. Please change default method before deletion."). System-preferred MFA does
//     not lift it: the default method is still kept and used by NPS and ADFS (Microsoft's answer in
//     microsoft-graph-docs issue #20895; signInPreferences' description in authentication-update.md).
func (s *Server) deleteMethod(c *call) result {
	seg, mid := strings.ToLower(c.segs[3]), c.segs[4]
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	u := s.dir.lookup(c.segs[1])
	if u == nil {
		return s.notFoundUser(c, c.segs[1])
	}
	if seg == segPassword || strings.EqualFold(mid, PasswordMethodID) {
		return s.badRequest(c, "The password authentication method cannot be deleted.")
	}
	i, m := u.method(mid)
	if m == nil || !collectionAccepts(c.version, seg, m.typ) {
		return s.methodNotFound(c, mid)
	}
	if m.typ == mfa.MethodMobilePhone {
		for _, o := range u.methods {
			if o.typ == mfa.MethodAlternateMobilePhone {
				return s.badRequest(c, "A user can't have an alternateMobile number without a mobile number. Update the mobile number or delete the alternateMobile number first.")
			}
		}
	}
	if m.id == u.defaultID {
		if len(u.methods) > 1 {
			return s.graphErrorInner(c, http.StatusBadRequest, "badRequest", MsgDefaultMethod)
		}
		u.defaultID = ""
	}
	u.methods = slices.Delete(u.methods, i, i+1)
	u.methodsAt = c.now
	s.stats.methodsDeleted.Add(1)
	return noContent()
}

// MsgDefaultMethod is Graph's message when the default method is deleted while others remain.
const MsgDefaultMethod = "Cannot delete default method with other methods configured. Please change default method before deletion."
