package mfa

import (
	"context"
	"time"
)

// SetupLinkTTL is how long a setup link works.
const SetupLinkTTL = 72 * time.Hour

// SetupPath is where a setup link points, before its secret.
const SetupPath = "/my/setup/"

// ErrSetupLinkGone is the one answer to a setup link that is unknown, used or expired.
var ErrSetupLinkGone = &Error{Code: ENOTFOUND, Message: "This setup link has expired or was already used. Ask your administrator for a new one."}

// SetupLink is a link just created: its URL holds the secret and is shown once.
type SetupLink struct {
	UPN     string
	URL     string
	Expires time.Time
}

// CreateSetupLink makes a one-time link with which a user sets their first password (SPEC §7):
// valid 72 hours, any earlier link of the user stops working. Global admins, authentication admins
// and helpdesk admins may, on users their role may act on (the Manage user settings row of SPEC
// §3). Errors: EFORBIDDEN, ENOTFOUND.
func (s *SelfService) CreateSetupLink(ctx context.Context, actor Actor, upn string) (*SetupLink, error) {
	if err := actor.Require(PermManageSettings); err != nil {
		return nil, err
	}
	if err := ValidateUPN(upn); err != nil {
		return nil, Errorf(ENOTFOUND, "no user %q", truncate(upn, 100))
	}
	secret, hash := newSecret()
	now := s.now()
	link := &SetupLink{URL: s.PublicURL + SetupPath + secret, Expires: now.Add(SetupLinkTTL)}
	source := SourcePage
	if actor.Method == "cli" {
		source = SourceCLI
	}
	err := s.Store.CreateSetupLink(ctx, upn, hash, link.Expires, func(u *User) (*AuditRecord, error) {
		if !actor.Role.CanOn(PermManageSettings, u.Privileged) {
			return nil, Errorf(EFORBIDDEN, "your role (%s) may not create a setup link for %s, who holds an admin role", actor.Role, u.UPN)
		}
		link.UPN = u.UPN
		rec := NewAuditRecord(actor, source, "", now)
		rec.Action, rec.Target = AuditSetupLink, u.UPN
		rec.After = "setup link valid until " + link.Expires.Format(time.RFC3339) + "; earlier links revoked"
		return &rec, nil
	})
	if err != nil {
		return nil, err
	}
	return link, nil
}

// CheckSetupLink answers the user a setup link is for, or ErrSetupLinkGone.
func (s *SelfService) CheckSetupLink(ctx context.Context, secret string) (*User, error) {
	if !validSecret(secret) {
		return nil, ErrSetupLinkGone
	}
	u, err := s.Store.FindSetupLink(ctx, HashToken(secret), s.now())
	if ErrorCode(err) == ENOTFOUND {
		return nil, ErrSetupLinkGone
	}
	return u, err
}

// SetPasswordWithLink sets a user's password with a setup link and uses the link up: it works
// once. The user's sessions end. Errors: EINVALID naming the field ("password", "confirm"),
// ErrSetupLinkGone.
func (s *SelfService) SetPasswordWithLink(ctx context.Context, secret, password, confirm, ip string) (*User, error) {
	if !validSecret(secret) {
		return nil, ErrSetupLinkGone
	}
	if err := ValidatePassword(password); err != nil {
		return nil, err
	}
	if password != confirm {
		return nil, FieldErrorf("confirm", "the two passwords are not the same")
	}
	// Hashing is slow: done before the transaction, so that it holds no lock meanwhile.
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u, err := s.Store.UseSetupLink(ctx, HashToken(secret), now, hash, func(u *User) *AuditRecord {
		rec := NewAuditRecord(UserActor(u, ip), SourceSetupLink, "", now)
		rec.Action, rec.Target, rec.After = AuditPasswordSet, u.UPN, "password set; sessions ended"
		return &rec
	})
	if ErrorCode(err) == ENOTFOUND {
		return nil, ErrSetupLinkGone
	}
	return u, err
}
