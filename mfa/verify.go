package mfa

import (
	"context"
	"time"
)

// UsableMethod is a registered method that can give a sign-in code now.
type UsableMethod struct {
	Type      MethodType
	Channel   Channel
	Masked    string // the masked phone number; "" for the app
	IsDefault bool
}

// usableMethods lists the user's methods that can give a code under the verification options,
// the default first: the app needs "Verification code from mobile app or hardware token" and its
// secret; a phone needs its number and "Text message to phone" or "Call to phone" (the channel
// chosen at registration when it is still allowed, the other otherwise; an office phone takes
// calls only). Methods registered elsewhere (users import) have no details and cannot.
func usableMethods(v VerificationOptions, u *User, d *SecurityDetails) []UsableMethod {
	var out []UsableMethod
	for _, m := range u.Methods {
		det, ok := d.Method(m.Type)
		if !ok || MethodAllowed(v, m.Type) != nil {
			continue
		}
		um := UsableMethod{Type: m.Type, IsDefault: m.IsDefault}
		switch {
		case m.Type == MethodSoftwareOTP && det.Secret != "":
			um.Channel = ChannelApp
		case det.Phone != "" && (m.Type == MethodMobilePhone || m.Type == MethodAlternateMobilePhone):
			um.Channel = det.Channel
			if um.Channel == ChannelSMS && !v.SMS || um.Channel != ChannelSMS && !v.Call {
				um.Channel = map[bool]Channel{true: ChannelSMS, false: ChannelVoice}[v.SMS]
			}
			um.Masked = MaskPhone(det.Phone)
		case det.Phone != "" && m.Type == MethodOfficePhone:
			um.Channel, um.Masked = ChannelVoice, MaskPhone(det.Phone)
		default:
			continue
		}
		if um.IsDefault {
			out = append([]UsableMethod{um}, out...)
		} else {
			out = append(out, um)
		}
	}
	return out
}

// ErrNoUsableMethod answers a sign-in whose registered methods cannot give a code here.
var ErrNoUsableMethod = &Error{Code: EUNAVAILABLE, Message: "None of your registered methods can give a code here (they were registered elsewhere, or the verification options no longer allow them). Ask your administrator to require you to provide contact methods again, then register when you sign in."}

// SignInMethods returns the methods that can give this sign-in's code, the default first.
func (s *SelfService) SignInMethods(ctx context.Context, u *User) ([]UsableMethod, error) {
	settings, err := s.Settings.LoadSettings(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.Store.SecurityDetails(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return usableMethods(settings.VerificationOptions, u, d), nil
}

// StartSignInCode starts the second step with a method ("" for the default, or the first usable
// one): a code sent to a phone, or the authenticator app's. ErrNoUsableMethod when none can.
func (s *SelfService) StartSignInCode(ctx context.Context, sess *UserSession, u *User, method MethodType) (*CodePrompt, error) {
	if err := requireStage(sess, NeedCode); err != nil {
		return nil, err
	}
	usable, err := s.SignInMethods(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(usable) == 0 {
		return nil, ErrNoUsableMethod
	}
	pick := usable[0]
	if method != "" {
		found := false
		for _, m := range usable {
			if m.Type == method {
				pick, found = m, true
			}
		}
		if !found {
			return nil, FieldErrorf("method", "choose one of your methods listed")
		}
	}
	c := &Challenge{SessionHash: sess.Hash, UserID: u.ID, Purpose: PurposeSignIn, Method: pick.Type, Channel: pick.Channel}
	if pick.Channel != ChannelApp {
		d, err := s.Store.SecurityDetails(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		det, _ := d.Method(pick.Type)
		c.Target = det.Phone
	}
	if err := s.putChallenge(ctx, c); err != nil {
		return nil, err
	}
	return promptFor(c), nil
}

// PendingSignInCode returns the code the session's second step waits for.
func (s *SelfService) PendingSignInCode(ctx context.Context, sess *UserSession) (*CodePrompt, error) {
	if err := requireStage(sess, NeedCode); err != nil {
		return nil, err
	}
	c, err := s.pendingChallenge(ctx, sess, PurposeSignIn)
	if err != nil {
		return nil, err
	}
	return promptFor(c), nil
}

// VerifySignInCode checks the second step's code and signs the session in. With remember, where
// the service settings allow remembering, it also answers a remembered-device token (for a
// cookie) and how long the cookie should last; "" otherwise.
func (s *SelfService) VerifySignInCode(ctx context.Context, sess *UserSession, u *User, code string, remember bool) (string, time.Duration, error) {
	if err := requireStage(sess, NeedCode); err != nil {
		return "", 0, err
	}
	c, err := s.pendingChallenge(ctx, sess, PurposeSignIn)
	if err != nil {
		return "", 0, err
	}
	secret := ""
	if c.Channel == ChannelApp {
		d, err := s.Store.SecurityDetails(ctx, u.ID)
		if err != nil {
			return "", 0, err
		}
		det, _ := d.Method(MethodSoftwareOTP)
		secret = det.Secret
	}
	step, err := s.checkCode(ctx, c, code, secret)
	if err != nil {
		return "", 0, err
	}
	if c.Channel == ChannelApp {
		if fresh, err := s.Store.UseTOTPStep(ctx, u.ID, step); err != nil {
			return "", 0, err
		} else if !fresh {
			// The app's next code will do: the session waits for one again (checkCode used
			// this challenge up), so that the page keeps asking for it.
			if err := s.putChallenge(ctx, &Challenge{SessionHash: sess.Hash, UserID: u.ID, Purpose: PurposeSignIn,
				Method: c.Method, Channel: ChannelApp}); err != nil {
				return "", 0, err
			}
			return "", 0, FieldErrorf("code", "this code was already used: wait for the app to show a new one")
		}
	}
	if err := s.completeStage(ctx, sess); err != nil {
		return "", 0, err
	}
	if !remember {
		return "", 0, nil
	}
	return s.rememberDevice(ctx, u)
}

// rememberDevice remembers this browser for the user, where the settings allow it.
func (s *SelfService) rememberDevice(ctx context.Context, u *User) (string, time.Duration, error) {
	settings, err := s.Settings.LoadSettings(ctx)
	if err != nil || !settings.RememberMFA.Enabled {
		return "", 0, err
	}
	token, hash := newSecret()
	if err := s.Store.RememberDevice(ctx, hash, u.ID, s.now()); err != nil {
		return "", 0, err
	}
	return token, time.Duration(settings.RememberMFA.Days) * 24 * time.Hour, nil
}

// rememberedAt is when the browser with a remembered-device token was remembered for u; zero if
// the token is malformed, unknown or another user's.
func (s *SelfService) rememberedAt(ctx context.Context, u *User, token string) time.Time {
	if !validSecret(token) {
		return time.Time{}
	}
	userID, at, err := s.Store.FindRememberedDevice(ctx, HashToken(token))
	if err != nil || userID != u.ID {
		return time.Time{}
	}
	return at
}

// RememberDays is how many days "Don't ask again" lasts now; 0 when remembering is off.
func (s *SelfService) RememberDays(ctx context.Context) (int, error) {
	settings, err := s.Settings.LoadSettings(ctx)
	if err != nil || !settings.RememberMFA.Enabled {
		return 0, err
	}
	return settings.RememberMFA.Days, nil
}
