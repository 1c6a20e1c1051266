package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// Token is an API token (SPEC §5): a random secret shown once when it is created and stored only
// as its SHA-256 hash, so that it can never be read back. A request that presents it acts with
// the token's role.
type Token struct {
	Name       string // unique, case-insensitive; the actor is "token:NAME"
	Role       Role
	Hash       string // hex SHA-256 of the secret
	CreatedAt  time.Time
	CreatedBy  string    // the actor who created it
	LastUsedAt time.Time // zero when never used
}

// TokenPrefix starts every token, so that people and secret scanners recognise one.
const TokenPrefix = "mfap_"

// tokenLen is the length of a token: the prefix and 32 random bytes in unpadded base64url.
var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(32)

// NewTokenSecret makes a new token from 32 random bytes and returns it with its hash.
func NewTokenSecret() (secret, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashToken(secret)
}

// HashToken is the stored form of a token: hex SHA-256. A token has 256 random bits, so a fast
// hash is enough (there is nothing to guess that a slow hash would protect).
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// TokenStore keeps API tokens. Names are compared case-insensitively.
type TokenStore interface {
	// CreateToken stores a token; ECONFLICT if the name is taken.
	CreateToken(ctx context.Context, t *Token) error
	// FindTokenByHash returns the token with this hash; ENOTFOUND if there is none (unknown or revoked).
	FindTokenByHash(ctx context.Context, hash string) (*Token, error)
	// TouchToken records that the token was used at a time.
	TouchToken(ctx context.Context, name string, at time.Time) error
	// DeleteToken revokes a token: it stops working at once; ENOTFOUND if there is none.
	DeleteToken(ctx context.Context, name string) error
	// ListTokens returns every token sorted by name.
	ListTokens(ctx context.Context) ([]*Token, error)
}

// ValidateTokenName checks a token name: 1–64 characters of letters, digits, . _ - @.
func ValidateTokenName(name string) error {
	if err := ValidateAccountName(name); err != nil {
		return FieldErrorf("name", "token %s", strings.TrimPrefix(ErrorMessage(err), "account "))
	}
	return nil
}

// ErrBadToken is the one answer to an unknown, revoked or malformed API token.
var ErrBadToken = &Error{Code: EUNAUTHORIZED, Message: "The API token is not valid: it is unknown or was revoked."}

// CreateToken makes an API token with a role and returns its secret, which is not stored and
// cannot be shown again. Global admins only; ECONFLICT if the name is taken.
func (s *Service) CreateToken(ctx context.Context, actor Actor, name string, role Role) (string, *Token, error) {
	if err := actor.Require(PermAdminister); err != nil {
		return "", nil, err
	}
	name = strings.TrimSpace(name)
	if err := ValidateTokenName(name); err != nil {
		return "", nil, err
	}
	r, err := ParseRole(string(role))
	if err != nil {
		return "", nil, &Error{Code: EINVALID, Field: "role", Message: ErrorMessage(err)}
	}
	secret, hash := NewTokenSecret()
	t := &Token{Name: name, Role: r, Hash: hash, CreatedAt: s.now().UTC().Truncate(time.Millisecond), CreatedBy: actor.Name}
	if err := s.Tokens.CreateToken(ctx, t); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return "", nil, FieldErrorf("name", "a token named %q already exists: choose another name or revoke it first", name)
		}
		return "", nil, err
	}
	if err := s.auditAdmin(ctx, actor, AuditTokenCreate, "token:"+name, "", string(r)); err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// RevokeToken deletes an API token: requests with it are refused from now on. Global admins
// only; ENOTFOUND if there is no such token.
func (s *Service) RevokeToken(ctx context.Context, actor Actor, name string) error {
	if err := actor.Require(PermAdminister); err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	var found *Token
	list, err := s.Tokens.ListTokens(ctx)
	if err != nil {
		return err
	}
	for _, t := range list {
		if strings.EqualFold(t.Name, name) {
			found = t
		}
	}
	if found == nil {
		return Errorf(ENOTFOUND, "no token named %q", truncate(name, 64))
	}
	if err := s.Tokens.DeleteToken(ctx, found.Name); err != nil {
		return err
	}
	return s.auditAdmin(ctx, actor, AuditTokenRevoke, "token:"+found.Name, string(found.Role), "")
}

// ListTokens returns every API token (never a secret: only hashes are stored). Global admins only.
func (s *Service) ListTokens(ctx context.Context, actor Actor) ([]*Token, error) {
	if err := actor.Require(PermAdminister); err != nil {
		return nil, err
	}
	return s.Tokens.ListTokens(ctx)
}

// AuthenticateToken returns the token a request presented, recording its use (at most once a
// minute). An unknown, revoked or malformed token gives ErrBadToken.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (*Token, error) {
	if len(secret) != tokenLen || !strings.HasPrefix(secret, TokenPrefix) {
		return nil, ErrBadToken
	}
	t, err := s.Tokens.FindTokenByHash(ctx, HashToken(secret))
	if ErrorCode(err) == ENOTFOUND {
		return nil, ErrBadToken
	}
	if err != nil {
		return nil, err
	}
	if _, err := ParseRole(string(t.Role)); err != nil {
		return nil, ErrBadToken
	}
	if now := s.now(); now.Sub(t.LastUsedAt) >= time.Minute {
		if err := s.Tokens.TouchToken(ctx, t.Name, now); err != nil {
			return nil, err
		}
		t.LastUsedAt = now
	}
	return t, nil
}

// TokenActor is the actor of a request made with a token from a client address.
func TokenActor(t *Token, ip string) Actor {
	return Actor{Name: "token:" + t.Name, Role: t.Role, Method: "token", IP: ip}
}
