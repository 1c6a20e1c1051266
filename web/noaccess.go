package web

import (
	"errors"
	"maps"
	"net/http"
	"slices"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/mfaportal/mfaportal/handlers"
	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// discoveryMessage tells the person signing in why organisation sign-in cannot start: an issuer
// that does not match the provider's discovery document is a setting to correct, not a provider
// that cannot be reached.
func discoveryMessage(err error) string {
	var mismatch *oidc.IssuerMismatchError
	if errors.As(err, &mismatch) {
		return "Organisation sign-in is misconfigured: the issuer set for this portal (" + mismatch.Provided +
			") is not the one the identity provider names (" + mismatch.Discovered + "). Ask your administrator to set MFAPORTAL_OIDC_ISSUER to it exactly."
	}
	return "Organisation sign-in is unavailable: the identity provider cannot be reached. Try again in a minute."
}

// claimHint says how to get the role claim into the ID token.
func claimHint(claim string) string {
	switch claim {
	case "wids":
		return "In Microsoft Entra ID: App registrations → the portal → Token configuration → Add groups claim → Directory roles."
	case "roles":
		return "Assign an app role to the person, and have the provider put the roles claim in the ID token."
	}
	return "Ask the identity provider for it: add the " + claim + " scope to MFAPORTAL_OIDC_SCOPES, or a mapper that puts the " +
		claim + " claim in the ID token."
}

// noAccess refuses someone the provider signed in who holds no role: a page that says which claim
// was read and what it must hold (and, when the claim is missing, how to get it), and a log line.
// No session is made.
func (s *Server) noAccess(w http.ResponseWriter, r *http.Request, name string, found claimFound, values int) {
	claim := s.oidc.cfg.RoleClaim
	v := templates.NoAccessView{Name: name, Claim: claim, Overage: found == claimOverage, Missing: found == claimMissing}
	reason := "no role"
	attrs := []any{"account", name, "claim", claim, "values", values, "remote", clientIP(r)}
	if v.Missing {
		v.Hint = claimHint(claim)
		reason = "no " + claim + " claim in the ID token"
		attrs = append(attrs, "hint", v.Hint)
	}
	if claim != "wids" { // a custom claim: the values it must hold, rather than Entra's role names
		entra := mfa.EntraRoleMap()
		for _, value := range slices.Sorted(maps.Keys(s.oidc.cfg.RoleMap)) {
			if _, builtIn := entra[value]; !builtIn {
				v.Values = append(v.Values, templates.RoleValue{Value: value, Role: s.oidc.cfg.RoleMap[value]})
			}
		}
	}
	s.log.WarnContext(r.Context(), "organisation sign-in refused", append([]any{"reason", reason}, attrs...)...)
	s.sessions.clearCookie(w)
	handlers.Render(r.Context(), w, http.StatusForbidden, templates.NoAccess(templates.Page{Title: "No access"}, v), s.log)
}
