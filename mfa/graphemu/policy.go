package graphemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// policy is the tenant's authenticationMethodsPolicy.
type policy struct {
	lastModified            time.Time
	registrationEnforcement json.RawMessage
	configs                 []methodConfig
	// systemPreferred is systemCredentialPreferences' state: "enabled", "disabled", or "default"
	// (Microsoft-managed, which is on). Beta only: the v1.0 policy has no such property
	// (api-reference/beta/resources/systemcredentialpreferences.md).
	systemPreferred string
}

// systemPreferredOn reports whether system-preferred MFA applies to the tenant's users.
func (p *policy) systemPreferredOn() bool { return p.systemPreferred != "disabled" }

// methodConfig is one authenticationMethodConfiguration: its state is what the emulator lets
// clients change; the other fields are fixed, as a typical tenant has them.
type methodConfig struct {
	id        string
	odataType string
	state     string
	extra     obj
}

var allUsersTarget = []obj{{{"targetType", "group"}, {"id", "all_users"}, {"isRegistrationRequired", false}}}

func defaultPolicy(now time.Time, systemPreferred bool) policy {
	cfg := func(id, typ, state string, extra ...kv) methodConfig {
		return methodConfig{id: id, odataType: "#microsoft.graph." + typ, state: state, extra: obj(extra)}
	}
	sp := "enabled"
	if !systemPreferred {
		sp = "disabled"
	}
	return policy{
		lastModified:    now,
		systemPreferred: sp,
		registrationEnforcement: json.RawMessage(`{"authenticationMethodsRegistrationCampaign":{"snoozeDurationInDays":1,` +
			`"enforceRegistrationAfterAllowedSnoozes":true,"state":"default","excludeTargets":[],` +
			`"includeTargets":[{"id":"all_users","targetType":"group","targetedAuthenticationMethod":"microsoftAuthenticator"}]}}`),
		configs: []methodConfig{
			cfg("Fido2", "fido2AuthenticationMethodConfiguration", "enabled",
				kv{"isSelfServiceRegistrationAllowed", true}, kv{"isAttestationEnforced", true},
				kv{"keyRestrictions", obj{{"isEnforced", false}, {"enforcementType", "block"}, {"aaGuids", []string{}}}},
				kv{"includeTargets", allUsersTarget}),
			cfg("MicrosoftAuthenticator", "microsoftAuthenticatorAuthenticationMethodConfiguration", "enabled",
				kv{"isSoftwareOathEnabled", false},
				kv{"includeTargets", []obj{{{"targetType", "group"}, {"id", "all_users"}, {"isRegistrationRequired", false}, {"authenticationMode", "any"}}}}),
			cfg("Sms", "smsAuthenticationMethodConfiguration", "enabled",
				kv{"includeTargets", []obj{{{"targetType", "group"}, {"id", "all_users"}, {"isRegistrationRequired", false}, {"isUsableForSignIn", false}}}}),
			cfg("TemporaryAccessPass", "temporaryAccessPassAuthenticationMethodConfiguration", "disabled",
				kv{"defaultLifetimeInMinutes", 60}, kv{"defaultLength", 8}, kv{"minimumLifetimeInMinutes", 60},
				kv{"maximumLifetimeInMinutes", 480}, kv{"isUsableOnce", false}, kv{"includeTargets", allUsersTarget}),
			cfg("SoftwareOath", "softwareOathAuthenticationMethodConfiguration", "enabled",
				kv{"includeTargets", allUsersTarget}),
			cfg("HardwareOath", "hardwareOathAuthenticationMethodConfiguration", "enabled",
				kv{"includeTargets", allUsersTarget}),
			cfg("Voice", "voiceAuthenticationMethodConfiguration", "enabled",
				kv{"isOfficePhoneAllowed", true}, kv{"includeTargets", allUsersTarget}),
			cfg("Email", "emailAuthenticationMethodConfiguration", "enabled",
				kv{"allowExternalIdToUseEmailOtp", "default"}, kv{"includeTargets", []obj{}}),
		},
	}
}

func (m *methodConfig) json() obj {
	return append(obj{{"@odata.type", m.odataType}, {"id", m.id}, {"state", m.state}}, m.extra...)
}

func (p *policy) config(id string) *methodConfig {
	for i := range p.configs {
		if strings.EqualFold(p.configs[i].id, id) {
			return &p.configs[i]
		}
	}
	return nil
}

func (s *Server) policyJSON(c *call) obj {
	p := &s.dir.policy
	configs := make([]obj, len(p.configs))
	for i := range p.configs {
		configs[i] = p.configs[i].json()
	}
	out := obj{
		{"@odata.context", c.base + "/" + c.version + "/$metadata#authenticationMethodsPolicy"},
		{"id", "authenticationMethodsPolicy"},
		{"displayName", "Authentication Methods Policy"},
		{"description", "The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and self-service password reset settings"},
		{"lastModifiedDateTime", p.lastModified.UTC().Format("2006-01-02T15:04:05.0000000Z")},
		{"policyVersion", "1.5"},
		{"policyMigrationState", "migrationComplete"},
		{"registrationEnforcement", p.registrationEnforcement},
	}
	if c.version == "beta" {
		out = append(out, kv{"systemCredentialPreferences", obj{
			{"@odata.type", "#microsoft.graph.systemCredentialPreferences"},
			{"state", p.systemPreferred},
			{"includeTargets", []obj{{{"targetType", "group"}, {"id", "all_users"}}}},
			{"excludeTargets", []obj{}},
		}})
	}
	return append(out, kv{"authenticationMethodConfigurations", configs})
}

// getPolicy answers GET /policies/authenticationMethodsPolicy.
func (s *Server) getPolicy(c *call) result {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	return jsonResult(http.StatusOK, s.policyJSON(c))
}

func validConfigState(st string) bool { return st == "enabled" || st == "disabled" }

// patchPolicy answers PATCH /policies/authenticationMethodsPolicy with 200 and the policy. Besides
// registrationEnforcement it accepts, as an emulator convenience, authenticationMethodConfigurations
// entries of {"id", "state"}; nothing changes unless all are valid.
func (s *Server) patchPolicy(c *call) result {
	props, errRes := s.parsePatch(c, "authenticationMethodsPolicy", "registrationEnforcement",
		"authenticationMethodConfigurations", "reportSuspiciousActivitySettings", "systemCredentialPreferences")
	if errRes != nil {
		return *errRes
	}
	type change struct{ ID, State string }
	var changes []change
	if raw, ok := props["authenticationMethodConfigurations"]; ok {
		if err := json.Unmarshal(raw, &changes); err != nil {
			return s.badRequest(c, "Invalid value for property 'authenticationMethodConfigurations': an array of {id, state} objects is expected.")
		}
	}
	sysPref := ""
	if raw, ok := props["systemCredentialPreferences"]; ok {
		var v struct {
			State string `json:"state"`
		}
		if c.version != "beta" {
			return s.badRequest(c, "Property 'systemCredentialPreferences' does not exist on type 'microsoft.graph.authenticationMethodsPolicy'. Make sure to only use property names that are defined by the type.")
		}
		if err := json.Unmarshal(raw, &v); err != nil || (v.State != "default" && v.State != "enabled" && v.State != "disabled") {
			return s.badRequest(c, "Invalid value for property 'systemCredentialPreferences': its state must be default, enabled or disabled.")
		}
		sysPref = v.State
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	p := &s.dir.policy
	for _, ch := range changes {
		if p.config(ch.ID) == nil {
			return s.badRequest(c, fmt.Sprintf("Unknown authentication method configuration '%s'.", ch.ID))
		}
		if !validConfigState(ch.State) {
			return s.badRequest(c, fmt.Sprintf("Invalid value '%s' for property 'state': expected enabled or disabled.", ch.State))
		}
	}
	for _, ch := range changes {
		p.config(ch.ID).state = ch.State
	}
	if sysPref != "" {
		p.systemPreferred = sysPref
	}
	if raw, ok := props["registrationEnforcement"]; ok {
		p.registrationEnforcement = append(json.RawMessage(nil), raw...)
	}
	p.lastModified = c.now
	return jsonResult(http.StatusOK, s.policyJSON(c))
}

func (c *call) configsContext() string {
	return c.base + "/" + c.version + "/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations"
}

// listConfigurations answers GET …/authenticationMethodConfigurations.
func (s *Server) listConfigurations(c *call) result {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	values := make([]obj, len(s.dir.policy.configs))
	for i := range s.dir.policy.configs {
		values[i] = s.dir.policy.configs[i].json()
	}
	return jsonResult(http.StatusOK, obj{{"@odata.context", c.configsContext()}, {"value", values}})
}

func (s *Server) configNotFound(c *call, id string) result {
	return s.graphError(c, http.StatusNotFound, "itemNotFound",
		fmt.Sprintf("The authentication method configuration '%s' was not found.", id))
}

// getConfiguration answers GET …/authenticationMethodConfigurations/{id}.
func (s *Server) getConfiguration(c *call) result {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	m := s.dir.policy.config(c.segs[3])
	if m == nil {
		return s.configNotFound(c, c.segs[3])
	}
	return jsonResult(http.StatusOK, append(obj{{"@odata.context", c.configsContext() + "/$entity"}}, m.json()...))
}

// patchConfiguration answers PATCH …/authenticationMethodConfigurations/{id} with 204. The body must
// name the configuration's @odata.type, as Graph requires; only state is applied.
func (s *Server) patchConfiguration(c *call) result {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	m := s.dir.policy.config(c.segs[3])
	if m == nil {
		return s.configNotFound(c, c.segs[3])
	}
	allowed := []string{"id", "state", "includeTargets", "excludeTargets", "excludeTargetsV2"}
	for _, f := range m.extra {
		allowed = append(allowed, f.k)
	}
	props, errRes := s.parsePatch(c, strings.TrimPrefix(m.odataType, "#microsoft.graph."), allowed...)
	if errRes != nil {
		return *errRes
	}
	typ, _, errRes := s.stringProp(c, props, "@odata.type")
	if errRes != nil {
		return *errRes
	}
	if !strings.EqualFold(typ, m.odataType) {
		return s.badRequest(c, fmt.Sprintf("The request body must carry \"@odata.type\": \"%s\" for the configuration '%s'.", m.odataType, m.id))
	}
	st, set, errRes := s.stringProp(c, props, "state")
	if errRes != nil {
		return *errRes
	}
	if set {
		if !validConfigState(st) {
			return s.badRequest(c, fmt.Sprintf("Invalid value '%s' for property 'state': expected enabled or disabled.", st))
		}
		m.state = st
		s.dir.policy.lastModified = c.now
	}
	return noContent()
}

// MethodConfigurationState returns the state ("enabled" or "disabled") of an authentication method
// configuration of the policy, e.g. "Sms", "Voice", "MicrosoftAuthenticator".
func (s *Server) MethodConfigurationState(id string) (string, bool) {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	if m := s.dir.policy.config(id); m != nil {
		return m.state, true
	}
	return "", false
}

// SetMethodConfigurationState sets the state of an authentication method configuration.
func (s *Server) SetMethodConfigurationState(id, state string) error {
	if !validConfigState(state) {
		return fmt.Errorf("graphemu: invalid configuration state %q", state)
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	m := s.dir.policy.config(id)
	if m == nil {
		return ErrNotFound
	}
	m.state = state
	return nil
}

// SetSystemPreferredMFA turns the tenant's system-preferred MFA on or off (its
// systemCredentialPreferences state).
func (s *Server) SetSystemPreferredMFA(on bool) {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	s.dir.policy.systemPreferred = "disabled"
	if on {
		s.dir.policy.systemPreferred = "enabled"
	}
}
