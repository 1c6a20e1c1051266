package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"strings"
	"time"
)

// AppPassword is a password for a non-browser app (SPEC §7): 16 random lower-case letters, shown
// once, stored as an argon2id hash like every password. Hint is the first 16 bits of the
// password's SHA-256, so that a sign-in checks one hash, not up to 40; it narrows a guess by 16 of
// its 75 bits, which leaves 59.
type AppPassword struct {
	ID         string
	Name       string
	Hash       string
	Hint       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
}

const (
	appPasswordLen     = 16
	maxAppPasswordName = 100
)

func newAppPassword() string {
	b := make([]byte, appPasswordLen)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(26))
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b[i] = byte('a' + n.Int64())
	}
	return string(b)
}

// looksLikeAppPassword reports whether s has an app password's shape (spaces people copy ignored).
func looksLikeAppPassword(s string) (string, bool) {
	s = strings.ReplaceAll(s, " ", "")
	return s, len(s) == appPasswordLen && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz") == ""
}

func appPasswordHint(pw string) string {
	sum := sha256.Sum256([]byte(pw))
	return hex.EncodeToString(sum[:2])
}

// ValidateAppPasswordName checks an app password's name: 1 to 100 characters, no control
// characters and no markup (< or >). EINVALID on the field "name".
func ValidateAppPasswordName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", FieldErrorf("name", "enter a name for the app password, e.g. Outlook")
	}
	if n := len([]rune(name)); n > maxAppPasswordName {
		return "", FieldErrorf("name", "the name is %d characters long: at most %d are allowed", n, maxAppPasswordName)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f || r == '<' || r == '>' || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return "", FieldErrorf("name", "the name may not contain markup (< or >) or control characters")
		}
	}
	return name, nil
}

// CreateAppPassword makes an app password with a name and answers it; it is shown once and only
// its hash is kept. Refused when the service settings do not allow app passwords (with the
// organisation's reason), at the 41st, and for a name already used.
func (s *SelfService) CreateAppPassword(ctx context.Context, sess *UserSession, u *User, name, ip string) (string, *AppPassword, error) {
	if err := requireStage(sess, NeedNothing); err != nil {
		return "", nil, err
	}
	name, err := ValidateAppPasswordName(name)
	if err != nil {
		return "", nil, err
	}
	settings, err := s.Settings.LoadSettings(ctx)
	if err != nil {
		return "", nil, err
	}
	if err := AppPasswordAllowed(settings, u); err != nil {
		return "", nil, err
	}
	pw := newAppPassword()
	hash, err := HashPassword(pw)
	if err != nil {
		return "", nil, err
	}
	ap := &AppPassword{Name: name, Hash: hash, Hint: appPasswordHint(pw), CreatedAt: s.now()}
	_, err = s.Store.UpdateSecurity(ctx, u.UPN, func(u *User, d *SecurityDetails) (*SecurityChange, error) {
		u.AppPasswords = len(d.AppPasswords)
		if err := AppPasswordAllowed(settings, u); err != nil {
			return nil, err
		}
		for _, a := range d.AppPasswords {
			if strings.EqualFold(a.Name, name) {
				return nil, FieldErrorf("name", "you already have an app password named %q: choose another name", a.Name)
			}
		}
		u.AppPasswords++
		rec := NewAuditRecord(UserActor(u, ip), SourceSecurityInfo, "", ap.CreatedAt)
		rec.Action, rec.Target, rec.After = AuditAppPasswordCreate, u.UPN, "app password "+name
		return &SecurityChange{PutAppPassword: ap, Records: []*AuditRecord{&rec}}, nil
	})
	if err != nil {
		return "", nil, err
	}
	return pw, ap, nil
}

// DeleteAppPassword deletes one of the user's app passwords: apps that use it stop working.
func (s *SelfService) DeleteAppPassword(ctx context.Context, sess *UserSession, u *User, id, ip string) error {
	if err := requireStage(sess, NeedNothing); err != nil {
		return err
	}
	_, err := s.Store.UpdateSecurity(ctx, u.UPN, func(u *User, d *SecurityDetails) (*SecurityChange, error) {
		for _, a := range d.AppPasswords {
			if a.ID == id {
				u.AppPasswords = len(d.AppPasswords) - 1
				rec := NewAuditRecord(UserActor(u, ip), SourceSecurityInfo, "", s.now())
				rec.Action, rec.Target, rec.Before = AuditAppPasswordDelete, u.UPN, "app password "+a.Name
				return &SecurityChange{DeleteAppPassword: id, Records: []*AuditRecord{&rec}}, nil
			}
		}
		return nil, FieldErrorf("id", "that app password no longer exists")
	})
	return err
}

// LegacySignIn is a non-browser app's sign-in: who, and with what.
type LegacySignIn struct {
	User *User
	With string // "app password" or "password"
}

// ErrAppPasswordRequired answers a right password of an Enforced user in a non-browser app.
var ErrAppPasswordRequired = &Error{Code: EUNAUTHORIZED, Message: "Your organization requires multi-factor authentication: non-browser apps need an app password. Create one under app passwords."}

// AuthenticateLegacy checks a non-browser app's user name and password (SPEC §1): an app password
// always works; the account password works until the user is Enforced. A wrong user name or
// password is ErrBadCredentials, whichever it was; an app password's last use is recorded.
func (s *SelfService) AuthenticateLegacy(ctx context.Context, upn, password string) (*LegacySignIn, error) {
	if len(upn) > 256 || len(password) > 1024 || upn == "" || password == "" {
		CheckPasswordOrDummy("", password)
		return nil, ErrBadCredentials
	}
	u, pwHash, err := s.Store.FindCredentials(ctx, upn)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	if app, ok := looksLikeAppPassword(password); ok && u != nil {
		cands, err := s.Store.FindAppPasswords(ctx, u.ID, appPasswordHint(app))
		if err != nil {
			return nil, err
		}
		if len(cands) == 0 {
			if _, err := CheckPasswordOrDummy("", app); err != nil { // the same time as a candidate that does not match
				return nil, err
			}
		}
		for _, a := range cands {
			ok, err := CheckPassword(a.Hash, app)
			if err != nil {
				return nil, err
			}
			if ok {
				if !u.AccountEnabled {
					return nil, ErrUserBlocked
				}
				if err := s.Store.TouchAppPassword(ctx, a.ID, s.now()); err != nil {
					return nil, err
				}
				return &LegacySignIn{User: u, With: "app password"}, nil
			}
		}
	}
	if ok, err := CheckPasswordOrDummy(pwHash, password); err != nil {
		return nil, err
	} else if !ok {
		return nil, ErrBadCredentials
	}
	if !u.AccountEnabled {
		return nil, ErrUserBlocked
	}
	if u.State == StateEnforced {
		return nil, ErrAppPasswordRequired
	}
	return &LegacySignIn{User: u, With: "password"}, nil
}
