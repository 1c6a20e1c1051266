package graph

import (
	"context"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/policies"

	"github.com/mfaportal/mfaportal/mfa"
)

// Why the settings Graph cannot apply are read-only.
const (
	noAppPasswords = "Microsoft Graph has no API for app passwords or the app-password policy: manage them on the legacy per-user MFA service settings page of the Microsoft Entra admin center"
	noTrustedIPs   = "Microsoft Graph has no API for the trusted IPs of per-user MFA: change them on the legacy per-user MFA service settings page of the Microsoft Entra admin center"
	noRemember     = "Microsoft Graph has no API for remembered devices or the remember-days setting: change them on the legacy per-user MFA service settings page of the Microsoft Entra admin center"
)

// Capabilities: through Graph only the verification options (the authentication methods policy)
// can be changed; the tenant is Microsoft's cloud, so trusted ranges must be public.
func (d *Directory) Capabilities() mfa.Capabilities {
	return mfa.Capabilities{
		ConditionalAccess:   true,
		AppPasswords:        mfa.Capability{Reason: noAppPasswords},
		TrustedIPs:          mfa.Capability{Reason: noTrustedIPs},
		VerificationOptions: mfa.Capability{Available: true},
		RememberMFA:         mfa.Capability{Reason: noRemember},
		PublicRangesOnly:    true,
		// A quick step runs while the admin waits; Graph takes about 20 changes a second under
		// its write quota (SPEC §4), so 200 users are about ten seconds.
		StepUsers:       stepUsers,
		StepUsersReason: "Microsoft Graph accepts about 20 changes a second",
	}
}

// stepUsers is the most users one quick step acts on through Graph.
const stepUsers = 200

// The authentication method configurations of the policy behind each verification option.
const (
	cfgVoice         = "Voice"
	cfgSMS           = "Sms"
	cfgAuthenticator = "MicrosoftAuthenticator"
	cfgSoftwareOath  = "SoftwareOath"
)

func (d *Directory) policies() *policies.AuthenticationMethodsPolicyRequestBuilder {
	return policies.NewPoliciesRequestBuilderInternal(map[string]string{}, d.c.v1).AuthenticationMethodsPolicy()
}

// readPolicy reads the verification options from GET /v1.0/policies/authenticationMethodsPolicy:
// Voice → call, Sms → text message, MicrosoftAuthenticator → app notification, SoftwareOath →
// verification code.
func (d *Directory) readPolicy(ctx context.Context) (mfa.VerificationOptions, error) {
	var p models.AuthenticationMethodsPolicyable
	err := d.c.do(ctx, 1, 0, func(ctx context.Context) error {
		var err error
		p, err = d.policies().Get(ctx, nil)
		return err
	})
	if err != nil {
		return mfa.VerificationOptions{}, asDomain(err)
	}
	if p == nil {
		return mfa.VerificationOptions{}, mfa.Errorf(mfa.EUNAVAILABLE, "Microsoft Graph answered the authentication methods policy with nothing")
	}
	var v mfa.VerificationOptions
	for _, c := range p.GetAuthenticationMethodConfigurations() {
		if c == nil || c.GetState() == nil {
			continue
		}
		on := *c.GetState() == models.ENABLED_AUTHENTICATIONMETHODSTATE
		switch deref(c.GetId()) {
		case cfgVoice:
			v.Call = on
		case cfgSMS:
			v.SMS = on
		case cfgAuthenticator:
			v.AppNotification = on
		case cfgSoftwareOath:
			v.AppCode = on
		}
	}
	return v, nil
}

// verification returns the verification options, read from Graph at most every 30 seconds (or at
// once when fresh). stored is the options as the portal's store keeps them (saved by the last
// change made through the portal, on any replica): when they differ from those stored when the
// options were last read, another replica has changed them, and they are read again at once. When
// Graph cannot be reached the last options read are used and the failure logged; without any, the
// error is returned.
func (d *Directory) verification(ctx context.Context, fresh bool, stored mfa.VerificationOptions) (mfa.VerificationOptions, error) {
	d.policyMu.Lock()
	defer d.policyMu.Unlock()
	if !fresh && d.policy != nil && d.policyStored == stored && d.cfg.Now().Sub(d.policyAt) < d.policyTTL {
		return *d.policy, nil
	}
	v, err := d.readPolicy(ctx)
	if err != nil {
		if d.policy != nil && !fresh {
			d.noteError(ctx, "reading the authentication methods policy", err)
			return *d.policy, nil
		}
		return v, err
	}
	d.policy, d.policyAt = &v, d.cfg.Now()
	d.policyStored = stored
	return v, nil
}

// LoadSettings returns the service settings: the verification options from Graph, the rest (which
// Graph cannot change) as last saved in the portal.
func (d *Directory) LoadSettings(ctx context.Context) (mfa.Settings, error) {
	s, err := d.db.LoadSettings(ctx)
	if err != nil {
		return s, err
	}
	v, err := d.verification(ctx, false, s.VerificationOptions)
	if err != nil {
		return s, err
	}
	s.VerificationOptions = v
	return s, nil
}

// SaveSettings applies a change of the verification options to the authentication methods policy
// (PATCH of each configuration that changes, then the policy read back), and stores the settings
// and fn's audit record in the portal's store. The service refuses changes of the settings Graph
// cannot apply before they get here.
func (d *Directory) SaveSettings(ctx context.Context, fn func(cur mfa.Settings) (mfa.Settings, *mfa.AuditRecord, error)) (mfa.Settings, error) {
	cur, err := d.db.LoadSettings(ctx)
	if err != nil {
		return cur, err
	}
	if cur.VerificationOptions, err = d.verification(ctx, true, cur.VerificationOptions); err != nil {
		return cur, err
	}
	next, rec, err := fn(cur)
	if err != nil || rec == nil {
		return cur, err
	}
	a, b := cur.VerificationOptions, next.VerificationOptions
	changes := []struct {
		id   string
		from bool
		to   bool
		body func() models.AuthenticationMethodConfigurationable
	}{
		{cfgVoice, a.Call, b.Call, func() models.AuthenticationMethodConfigurationable {
			return models.NewVoiceAuthenticationMethodConfiguration()
		}},
		{cfgSMS, a.SMS, b.SMS, func() models.AuthenticationMethodConfigurationable {
			return models.NewSmsAuthenticationMethodConfiguration()
		}},
		{cfgAuthenticator, a.AppNotification, b.AppNotification, func() models.AuthenticationMethodConfigurationable {
			return models.NewMicrosoftAuthenticatorAuthenticationMethodConfiguration()
		}},
		{cfgSoftwareOath, a.AppCode, b.AppCode, func() models.AuthenticationMethodConfigurationable {
			return models.NewSoftwareOathAuthenticationMethodConfiguration()
		}},
	}
	for _, ch := range changes {
		if ch.from == ch.to {
			continue
		}
		body := ch.body()
		state := models.DISABLED_AUTHENTICATIONMETHODSTATE
		if ch.to {
			state = models.ENABLED_AUTHENTICATIONMETHODSTATE
		}
		body.SetState(&state)
		err := d.c.do(ctx, 1, 1, func(ctx context.Context) error {
			_, err := d.policies().AuthenticationMethodConfigurations().ByAuthenticationMethodConfigurationId(ch.id).Patch(ctx, body, nil)
			return err
		})
		if err != nil {
			err = asDomain(err)
			d.noteError(ctx, "changing the authentication methods policy", err)
			return cur, err
		}
	}
	got, err := d.verification(ctx, true, b) // b: what the store keeps from now on
	if err != nil {
		return cur, err
	}
	if got != b {
		return cur, mfa.Errorf(mfa.EUNAVAILABLE, "Microsoft Graph did not apply the verification options as asked (it has %+v): nothing was saved", got)
	}
	return d.db.SaveSettings(ctx, func(mfa.Settings) (mfa.Settings, *mfa.AuditRecord, error) {
		return next, rec, nil
	})
}
