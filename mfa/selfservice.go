package mfa

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"
)

// RoleUser is the role of a directory user acting on their own security info. It holds no
// permission of SPEC §3 (it is not in Roles, and ParseRole refuses it), so a user can never pass
// an admin's check.
const RoleUser Role = "user"

// UserActor is a directory user acting on their own security info, for the audit log.
func UserActor(u *User, ip string) Actor {
	return Actor{Name: u.UPN, Role: RoleUser, Method: "user", IP: ip}
}

// SelfService is the end user's half of MFA on the embedded directory (SPEC §7): first password
// by setup link, sign-in with its second step, registration of methods, security info and app
// passwords. Admins reach it only to create setup links and to read a user's security details.
type SelfService struct {
	Directory Directory
	Settings  SettingsStore
	Store     SecurityStore
	Sender    CodeSender
	// PublicURL is where users reach the portal; setup links start with it.
	PublicURL string
	// SessionIdle and SessionMaxAge end a user's session after that long without a request, and
	// that long after sign-in.
	SessionIdle, SessionMaxAge time.Duration
	Now                        func() time.Time
	// OnError receives errors that the user sees only as a plain message (a code that could not
	// be sent), for the log. Codes and secrets are never in them.
	OnError func(msg string, err error)
}

// NewSelfService checks the required dependencies and fills defaults.
func NewSelfService(s SelfService) (*SelfService, error) {
	if s.Directory == nil || s.Settings == nil || s.Store == nil || s.Sender == nil {
		return nil, errors.New("self-service needs a directory, settings, a security store and a code sender")
	}
	if s.SessionIdle <= 0 {
		s.SessionIdle = time.Hour
	}
	if s.SessionMaxAge <= 0 {
		s.SessionMaxAge = 12 * time.Hour
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.OnError == nil {
		s.OnError = func(string, error) {}
	}
	return &s, nil
}

func (s *SelfService) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// SecurityStore keeps what the embedded directory knows about users' credentials beyond the user
// row: passwords, setup links, sessions, pending codes, method details, app passwords and
// remembered devices. Every method that changes a user takes the audit records to append in the
// same transaction.
type SecurityStore interface {
	// FindCredentials returns the user and their password hash ("" when they have none yet);
	// ENOTFOUND if there is no such user.
	FindCredentials(ctx context.Context, upn string) (*User, string, error)

	// CreateSetupLink runs fn on the user (role checks, the audit record) and, if it succeeds,
	// stores the link's hash in place of any earlier link of that user.
	CreateSetupLink(ctx context.Context, upn, hash string, expires time.Time, fn func(u *User) (*AuditRecord, error)) error
	// FindSetupLink returns the user of a live link; ENOTFOUND if it is unknown, used or expired.
	FindSetupLink(ctx context.Context, hash string, now time.Time) (*User, error)
	// UseSetupLink consumes a live link, sets the user's password hash and ends their sessions,
	// with fn's audit record; ENOTFOUND if the link is unknown, used or expired.
	UseSetupLink(ctx context.Context, hash string, now time.Time, passwordHash string, fn func(u *User) *AuditRecord) (*User, error)

	CreateUserSession(ctx context.Context, s *UserSession) error
	// FindUserSession returns a session by its hash; ENOTFOUND if there is none.
	FindUserSession(ctx context.Context, hash string) (*UserSession, error)
	SetUserSessionStage(ctx context.Context, hash string, stage Need) error
	TouchUserSession(ctx context.Context, hash string, at time.Time) error
	DeleteUserSession(ctx context.Context, hash string) error
	DeleteExpiredUserSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error)

	// PutChallenge stores a pending code, replacing the session's earlier one, and sets its ID.
	PutChallenge(ctx context.Context, c *Challenge) error
	// FindChallenge returns the session's pending code; ENOTFOUND if there is none.
	FindChallenge(ctx context.Context, sessionHash string) (*Challenge, error)
	// FailChallenge counts a wrong code and deletes the challenge once it has max failures; it
	// answers the attempts left.
	FailChallenge(ctx context.Context, id int64, max int) (int, error)
	// TakeChallenge deletes a challenge and answers whether it was still there: a code is used once.
	TakeChallenge(ctx context.Context, id int64) (bool, error)

	// SecurityDetails returns the details of a user's methods and their app passwords.
	SecurityDetails(ctx context.Context, userID string) (*SecurityDetails, error)
	// UpdateSecurity runs fn on the user and their security details inside one transaction and
	// applies the change it returns (nil: no change): the user row, method details, app passwords,
	// and the audit records. ENOTFOUND if there is no such user.
	UpdateSecurity(ctx context.Context, upn string, fn func(u *User, d *SecurityDetails) (*SecurityChange, error)) (*User, error)
	// UseTOTPStep records that the authenticator code of a time step was used, and answers false
	// when that step (or a later one) was used already: a code is accepted once.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// FindAppPasswords returns the user's app passwords whose hint matches.
	FindAppPasswords(ctx context.Context, userID, hint string) ([]AppPassword, error)
	TouchAppPassword(ctx context.Context, id string, at time.Time) error

	// RememberDevice stores a remembered device's hash for a user.
	RememberDevice(ctx context.Context, hash, userID string, at time.Time) error
	// FindRememberedDevice returns the user and time a device was remembered; ENOTFOUND if unknown.
	FindRememberedDevice(ctx context.Context, hash string) (userID string, at time.Time, err error)
}

// SecurityDetails are a user's method details and app passwords.
type SecurityDetails struct {
	Methods      []MethodDetail
	AppPasswords []AppPassword // oldest first
}

// Method returns the details of a method type, if the store has them.
func (d *SecurityDetails) Method(t MethodType) (MethodDetail, bool) {
	for _, m := range d.Methods {
		if m.Type == t {
			return m, true
		}
	}
	return MethodDetail{}, false
}

// SecurityChange is what a self-service action changes besides the user row.
type SecurityChange struct {
	PutMethod         *MethodDetail // add a method's details, or replace those of its type
	DeleteMethod      MethodType
	PutAppPassword    *AppPassword // a new app password (its ID is set by the store)
	DeleteAppPassword string       // the ID of an app password to delete
	Records           []*AuditRecord
}

// newSecret returns a random URL-safe secret of 32 bytes and its stored form (hex SHA-256).
func newSecret() (secret, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, HashToken(secret)
}

// validSecret reports whether s looks like a secret made by newSecret, so that junk is refused
// before any look-up.
func validSecret(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}
