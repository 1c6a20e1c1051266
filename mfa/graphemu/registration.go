package graphemu

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
)

// The registration report: GET /reports/authenticationMethods/userRegistrationDetails
// (authenticationmethodsroot-list-userregistrationdetails.md, userregistrationdetails.md): each
// user's registered methods and default method in one paged read, instead of one request per user.
// It is part of the authentication methods usage reports, which need Microsoft Entra ID P1 or P2
// (authenticationmethods-usage-insights-overview.md, "Licenses"); without, Graph answers 403
// Authentication_RequestFromNonPremiumTenantOrB2CTenant "Neither tenant is B2C or tenant doesn't
// have premium license" (microsoft-graph-docs-contrib issue #8777, about this very endpoint; Entra's
// "Common errors" of the reporting API).

// rolesRegistrationRead are the permissions of the report: AuditLog.Read.All (least privileged) or
// UserAuthenticationMethod.Read.All (includes/permissions/authenticationmethodsroot-list-
// userregistrationdetails-permissions.md).
var rolesRegistrationRead = []string{"AuditLog.Read.All", "UserAuthenticationMethod.Read.All"}

// registrationPageSize is how many records a page of the report holds. Graph does not document it
// (the page supports neither $top nor $skip): the emulator pages by 1,000 and the client follows
// @odata.nextLink whatever the size.
const registrationPageSize = 1000

// MsgNoPremiumLicense is Graph's message for the registration report of a tenant without Entra ID
// P1 or P2.
const MsgNoPremiumLicense = "Neither tenant is B2C or tenant doesn't have premium license"

// reportMethodName is the name methodsRegistered gives a method type (userregistrationdetails.md
// names mobilePhone, email, fido2; the example adds microsoftAuthenticatorPush and
// softwareOneTimePasscode): the portal's own names are Graph's.
func reportMethodName(t mfa.MethodType) string { return string(t) }

// listRegistrationDetails answers a page of the report, in the users' order, with an absolute
// @odata.nextLink ($skiptoken) while more remain. $filter is documented but not emulated, and no
// other query option is documented: both are refused.
func (s *Server) listRegistrationDetails(c *call) result {
	from := 0
	for k, v := range c.query {
		if strings.EqualFold(strings.TrimPrefix(k, "$"), "skiptoken") {
			n, ok := decodeSkipToken(v[0])
			if !ok {
				return s.graphError(c, http.StatusBadRequest, "Request_BadRequest", "Invalid skip token.")
			}
			from = int(n)
			continue
		}
		return s.graphError(c, http.StatusBadRequest, "Request_UnsupportedQuery",
			"The query option '"+k+"' is not supported on userRegistrationDetails by the emulator (the page documents $filter only).")
	}
	d := &s.dir
	d.mu.RLock()
	if d.ca.noPremium {
		d.mu.RUnlock()
		return s.graphError(c, http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", MsgNoPremiumLicense)
	}
	systemPreferred := d.policy.systemPreferredOn()
	end := min(len(d.users), from+registrationPageSize)
	values := make([]any, 0, max(0, end-from))
	for _, u := range d.users[min(from, len(d.users)):end] {
		sp := systemPreferred
		if u.systemPreferred != nil {
			sp = *u.systemPreferred
		}
		values = append(values, s.registrationJSON(u, d.privilegedLocked(u.id), sp))
	}
	total := len(d.users)
	d.mu.RUnlock()
	out := obj{{"@odata.context", c.base + "/" + c.version + "/$metadata#reports/authenticationMethods/userRegistrationDetails"}}
	if end < total {
		q := url.Values{}
		q.Set("$skiptoken", encodeSkipToken(uint64(end)))
		out = append(out, kv{"@odata.nextLink", c.base + "/" + c.version + "/reports/authenticationMethods/userRegistrationDetails?" + encodeODataQuery(q)})
	}
	return jsonResult(http.StatusOK, append(out, kv{"value", values}))
}

// registrationJSON is a user's record of the report. Hardware OATH tokens are listed although the
// v1.0 methods list leaves them out: the report is its own service. lastUpdatedDateTime is when the
// user's methods last changed (the emulator's report is always up to date; Graph's record says when
// it was).
func (s *Server) registrationJSON(u *user, admin, systemPreferred bool) obj {
	methods := []string{}
	mfaRegistered, passwordless := false, false
	preferred := ""
	for _, m := range u.methods {
		methods = append(methods, reportMethodName(m.typ))
		switch m.typ {
		case mfa.MethodEmail:
		case mfa.MethodFIDO2:
			passwordless, mfaRegistered = true, true
		default:
			mfaRegistered = true
		}
		if m.id == u.defaultID {
			preferred = preferredValue(m.typ)
		}
	}
	if preferred == "" && mfaRegistered {
		preferred = "none"
	}
	sysPref := []string{}
	if systemPreferred && preferred != "" && preferred != "none" {
		sysPref = append(sysPref, preferred)
	}
	userType := "member"
	if u.guest {
		userType = "guest"
	}
	return obj{
		{"id", u.id}, {"userPrincipalName", u.upn}, {"userDisplayName", u.displayName},
		{"userType", userType}, {"isAdmin", admin},
		{"isSsprRegistered", mfaRegistered}, {"isSsprEnabled", false}, {"isSsprCapable", false},
		{"isMfaRegistered", mfaRegistered}, {"isMfaCapable", mfaRegistered}, {"isPasswordlessCapable", passwordless},
		{"lastUpdatedDateTime", u.methodsAt.UTC().Format("2006-01-02T15:04:05.0000000Z")},
		{"methodsRegistered", methods},
		{"isSystemPreferredAuthenticationMethodEnabled", systemPreferred},
		{"systemPreferredAuthenticationMethods", sysPref},
		{"userPreferredMethodForSecondaryAuthentication", preferred},
	}
}
