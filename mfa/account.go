package mfa

import (
	"context"
	"strings"
	"time"
)

// Account is a local sign-in account of the portal (not a directory user).
type Account struct {
	Name         string
	Role         Role
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// ValidateAccountName checks a local account name: 1–64 characters of letters, digits, . _ - @.
func ValidateAccountName(name string) error {
	if name == "" || len(name) > 64 {
		return FieldErrorf("name", "account name must be 1 to 64 characters, found %d", len(name))
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return FieldErrorf("name", "account name %q may contain only letters, digits and . _ - @", truncate(name, 64))
		}
	}
	return nil
}

// MinPasswordLen is the shortest password a local account may have.
const MinPasswordLen = 12

// ValidatePassword checks a new password's length (12 to 1024 characters).
func ValidatePassword(pw string) error {
	if n := len([]rune(pw)); n < MinPasswordLen || len(pw) > 1024 {
		return FieldErrorf("password", "password must be %d to 1024 characters long, found %d", MinPasswordLen, n)
	}
	return nil
}

// AccountStore keeps local accounts. Names are compared case-insensitively.
type AccountStore interface {
	// CreateAccount adds an account; ECONFLICT if the name is taken.
	CreateAccount(ctx context.Context, a *Account) error
	// FindAccount returns the account; ENOTFOUND if there is none.
	FindAccount(ctx context.Context, name string) (*Account, error)
	// UpdateAccountPassword replaces the password hash; ENOTFOUND if there is no such account.
	UpdateAccountPassword(ctx context.Context, name, hash string, at time.Time) error
	// DeleteAccount removes the account and its sessions; ENOTFOUND if there is none.
	DeleteAccount(ctx context.Context, name string) error
	// ListAccounts returns every account sorted by name.
	ListAccounts(ctx context.Context) ([]*Account, error)
}

// Session is a signed-in browser. Only its random ID travels in the cookie.
type Session struct {
	ID         string
	Account    string
	Role       Role
	Method     string // "local" or "oidc"
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// SessionStore keeps sessions server-side so that sign-out really ends them.
type SessionStore interface {
	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s *Session) error
	// FindSession returns the session; ENOTFOUND if it does not exist (or was deleted).
	FindSession(ctx context.Context, id string) (*Session, error)
	// TouchSession records activity, for the idle timeout.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// DeleteSession ends a session; deleting a missing session is not an error.
	DeleteSession(ctx context.Context, id string) error
	// DeleteExpiredSessions removes sessions idle since before idleBefore or created before createdBefore.
	DeleteExpiredSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error)
}
