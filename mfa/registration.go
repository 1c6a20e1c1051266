package mfa

import (
	"context"
	"time"
)

// MethodDetail is what the embedded directory keeps of a registered method beyond its type.
type MethodDetail struct {
	Type    MethodType
	Phone   string  // E.164, for phones
	Channel Channel // how codes reach a phone: ChannelSMS or ChannelVoice
	Secret  string  // the authenticator app's TOTP secret; never shown after registration
	AddedAt time.Time
	// LastStep is the authenticator time step last accepted, so that a code works once.
	LastStep int64
}

// MethodOption is a method the registration page offers (SPEC §7), or shows as unavailable.
type MethodOption struct {
	Type      MethodType
	Label     string    // "Mobile app", "Authentication phone", "Office phone"
	Channels  []Channel // for phones: how the code may come, in the order offered
	Available bool
	Reason    string // why not, when not available
}

// RegistrationOptions are the methods a user may register under the verification options: only
// those the options allow are listed. "Notification through mobile app" has no sender on the
// embedded directory, so it is listed (when allowed) as unavailable.
func RegistrationOptions(v VerificationOptions) []MethodOption {
	var out []MethodOption
	if MethodAllowed(v, MethodSoftwareOTP) == nil {
		out = append(out, MethodOption{Type: MethodSoftwareOTP, Label: "Mobile app", Channels: []Channel{ChannelApp}, Available: true})
	}
	if MethodAllowed(v, MethodMobilePhone) == nil {
		o := MethodOption{Type: MethodMobilePhone, Label: "Authentication phone", Available: true}
		if v.SMS {
			o.Channels = append(o.Channels, ChannelSMS)
		}
		if v.Call {
			o.Channels = append(o.Channels, ChannelVoice)
		}
		out = append(out, o)
	}
	if MethodAllowed(v, MethodOfficePhone) == nil {
		out = append(out, MethodOption{Type: MethodOfficePhone, Label: "Office phone", Channels: []Channel{ChannelVoice}, Available: true})
	}
	if MethodAllowed(v, MethodAuthenticatorPush) == nil {
		out = append(out, MethodOption{Type: MethodAuthenticatorPush, Label: "Notification through mobile app",
			Reason: "not available on this portal: use the code from the mobile app instead"})
	}
	return out
}

// MethodChoice is what a user chose to register: a method and, for phones, the number and channel.
type MethodChoice struct {
	Type    MethodType
	Phone   string
	Channel Channel
}

// requireStage answers EFORBIDDEN unless the session is at one of the stages.
func requireStage(sess *UserSession, stages ...Need) error {
	for _, st := range stages {
		if sess.Stage == st {
			return nil
		}
	}
	if sess.Stage == NeedCode {
		return Errorf(EFORBIDDEN, "enter the code of your sign-in first")
	}
	return Errorf(EFORBIDDEN, "finish registering a method first")
}

// StartRegistration checks a user's choice against the verification options and starts it: a
// new authenticator secret for the mobile app, or a code sent to the phone. It is the session's
// one pending code from then on. Errors: EINVALID (field "method", "phone" or "channel"),
// EUNAVAILABLE (the code could not be sent).
func (s *SelfService) StartRegistration(ctx context.Context, sess *UserSession, u *User, choice MethodChoice) (*CodePrompt, error) {
	if err := requireStage(sess, NeedRegistration, NeedNothing); err != nil {
		return nil, err
	}
	settings, err := s.Settings.LoadSettings(ctx)
	if err != nil {
		return nil, err
	}
	var opt *MethodOption
	for _, o := range RegistrationOptions(settings.VerificationOptions) {
		if o.Type == choice.Type {
			opt = &o
		}
	}
	if opt == nil {
		return nil, FieldErrorf("method", "choose one of the methods offered")
	}
	if !opt.Available {
		return nil, FieldErrorf("method", "%s is %s", opt.Label, opt.Reason)
	}
	c := &Challenge{SessionHash: sess.Hash, UserID: u.ID, Purpose: PurposeRegister, Method: choice.Type, Channel: ChannelApp}
	if choice.Type == MethodSoftwareOTP {
		if c.Target, err = newTOTPKey(u.UPN); err != nil {
			return nil, err
		}
	} else {
		if c.Target, err = NormalizePhone(choice.Phone); err != nil {
			return nil, err
		}
		if len(opt.Channels) == 1 && choice.Channel == "" {
			choice.Channel = opt.Channels[0]
		}
		c.Channel = ""
		for _, ch := range opt.Channels {
			if ch == choice.Channel {
				c.Channel = ch
			}
		}
		if c.Channel == "" {
			return nil, FieldErrorf("channel", "choose how to get the code: a text message or a call, as offered")
		}
	}
	if err := s.putChallenge(ctx, c); err != nil {
		return nil, err
	}
	return promptFor(c), nil
}

// PendingRegistration is a registration waiting for its code.
type PendingRegistration struct {
	Prompt *CodePrompt
	// Secret and URI are the new authenticator's secret and its otpauth:// URI (mobile app only),
	// shown as text and as a QR code until the code is entered.
	Secret, URI string
}

// PendingRegistration returns the session's registration waiting for a code; EINVALID (field
// "code") when there is none or it expired.
func (s *SelfService) PendingRegistration(ctx context.Context, sess *UserSession, u *User) (*PendingRegistration, error) {
	if err := requireStage(sess, NeedRegistration, NeedNothing); err != nil {
		return nil, err
	}
	c, err := s.pendingChallenge(ctx, sess, PurposeRegister)
	if err != nil {
		return nil, err
	}
	p := &PendingRegistration{Prompt: promptFor(c)}
	if c.Channel == ChannelApp {
		p.Secret, p.URI = c.Target, TOTPURI(u.UPN, c.Target)
	}
	return p, nil
}

// VerifyRegistration checks the code of the pending registration and registers the method
// (replacing the details of a method of the same type). At "More information required" it
// completes registration: the method becomes the default, and an Enabled user becomes Enforced
// (SPEC §1), recorded with the user as actor and source registration; the session is signed in.
func (s *SelfService) VerifyRegistration(ctx context.Context, sess *UserSession, u *User, code, ip string) (*User, error) {
	if err := requireStage(sess, NeedRegistration, NeedNothing); err != nil {
		return nil, err
	}
	c, err := s.pendingChallenge(ctx, sess, PurposeRegister)
	if err != nil {
		return nil, err
	}
	secret := ""
	if c.Channel == ChannelApp {
		secret = c.Target
	}
	step, err := s.checkCode(ctx, c, code, secret)
	if err != nil {
		return nil, err
	}
	detail := MethodDetail{Type: c.Method, Channel: c.Channel, AddedAt: s.now(), LastStep: step}
	if c.Channel == ChannelApp {
		detail.Secret = c.Target
	} else {
		detail.Phone = c.Target
	}
	registering := sess.Stage == NeedRegistration
	source := SourceSecurityInfo
	if registering {
		source = SourceRegistration
	}
	after, err := s.Store.UpdateSecurity(ctx, u.UPN, func(u *User, d *SecurityDetails) (*SecurityChange, error) {
		actor := UserActor(u, ip)
		add := NewAuditRecord(actor, source, "", detail.AddedAt)
		add.Action, add.Target, add.Before = AuditMethodAdd, u.UPN, FormatMethodList(u.Methods)
		u.Methods = withMethod(u.Methods, c.Method, registering || !u.HasMethods())
		add.After = FormatMethodList(u.Methods) + " (" + describeDetail(detail) + ")"
		change := &SecurityChange{PutMethod: &detail, Records: []*AuditRecord{&add}}
		if registering {
			u.HadMethodsWhenReenabled = false
			if next := StateAfterRegistration(u.State); next != u.State {
				enf := NewAuditRecord(actor, SourceRegistration, "", detail.AddedAt)
				enf.Action, enf.Target, enf.Before, enf.After = AuditEnforce, u.UPN, u.State.Label(), next.Label()
				u.State, u.StateReadAt = next, detail.AddedAt
				change.Records = append(change.Records, &enf)
			}
		}
		return change, nil
	})
	if err != nil {
		return nil, err
	}
	if registering {
		if err := s.completeStage(ctx, sess); err != nil {
			return nil, err
		}
	}
	return after, nil
}

// withMethod returns ms with a method of type t: kept in its place if present, appended if not;
// made the default when asked.
func withMethod(ms []Method, t MethodType, makeDefault bool) []Method {
	out := make([]Method, 0, len(ms)+1)
	found := false
	for _, m := range ms {
		found = found || m.Type == t
		out = append(out, Method{Type: m.Type, IsDefault: m.IsDefault && !makeDefault || m.Type == t && makeDefault})
	}
	if !found {
		out = append(out, Method{Type: t, IsDefault: makeDefault})
	}
	return out
}

// describeDetail is a method's details for the audit log: masked numbers, never a secret.
func describeDetail(d MethodDetail) string {
	switch {
	case d.Phone != "":
		return string(d.Channel) + " to " + MaskPhone(d.Phone)
	case d.Type == MethodSoftwareOTP:
		return "authenticator app"
	}
	return string(d.Type)
}

// UserLabel is a method as the user's own pages name it.
func UserLabel(t MethodType) string {
	if t == MethodSoftwareOTP {
		return "Mobile app"
	}
	return t.Label()
}
