package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Purpose is what a pending code is for.
type Purpose string

// The purposes of a code: registering a method (More information required, or add method), or
// the second step of a sign-in.
const (
	PurposeRegister Purpose = "register"
	PurposeSignIn   Purpose = "sign-in"
)

// Codes are single-use, expire after CodeTTL, and a challenge dies after MaxCodeAttempts wrong codes.
const (
	CodeTTL         = 5 * time.Minute
	MaxCodeAttempts = 5
	codeDigits      = 6
)

// Challenge is a code a session waits for: sent to a phone, or made by an authenticator app.
type Challenge struct {
	ID          int64
	SessionHash string
	UserID      string
	Purpose     Purpose
	Method      MethodType
	Channel     Channel
	// Target is the phone number (E.164) the code went to or, while an authenticator app is
	// being registered, its new secret. "" for a sign-in with a registered app.
	Target    string
	CodeHash  string // a sent code, salted and hashed; "" for authenticator codes
	CreatedAt time.Time
	ExpiresAt time.Time
	Attempts  int
}

// newCode returns a random 6-digit code and its stored form.
func newCode() (code, hash string) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	code = fmt.Sprintf("%0*d", codeDigits, n.Int64())
	salt := make([]byte, 16)
	rand.Read(salt)
	return code, hashCode(hex.EncodeToString(salt), code)
}

func hashCode(salt, code string) string {
	sum := sha256.Sum256([]byte(salt + ":" + code))
	return salt + "$" + hex.EncodeToString(sum[:])
}

// codeMatches compares a typed code with a stored hash in constant time.
func codeMatches(stored, code string) bool {
	salt, _, ok := strings.Cut(stored, "$")
	return ok && subtle.ConstantTimeCompare([]byte(hashCode(salt, code)), []byte(stored)) == 1
}

// normalizeCode strips the spaces people type into codes ("123 456") and checks the shape: six
// digits. A malformed code is EINVALID on the field "code" and counts as no attempt.
func normalizeCode(s string) (string, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if s == "" {
		return "", FieldErrorf("code", "enter the %d-digit code", codeDigits)
	}
	if len(s) != codeDigits || strings.Trim(s, "0123456789") != "" {
		return "", FieldErrorf("code", "a code is %d digits: %q is not one", codeDigits, truncate(s, 20))
	}
	return s, nil
}

// codeMessage is the text sent to a phone.
func codeMessage(code string) string {
	return "Your mfaportal verification code is " + code + ". It expires in 5 minutes. Do not share it."
}

// pendingChallenge returns the session's live challenge for a purpose. An expired one is deleted
// and answered with an EINVALID message that says to request a new code.
func (s *SelfService) pendingChallenge(ctx context.Context, sess *UserSession, purpose Purpose) (*Challenge, error) {
	c, err := s.Store.FindChallenge(ctx, sess.Hash)
	if ErrorCode(err) == ENOTFOUND || err == nil && (c.Purpose != purpose || c.UserID != sess.UserID) {
		return nil, FieldErrorf("code", "there is no code to enter: choose a method to get one")
	}
	if err != nil {
		return nil, err
	}
	if !s.now().Before(c.ExpiresAt) {
		if _, err := s.Store.TakeChallenge(ctx, c.ID); err != nil {
			return nil, err
		}
		return nil, FieldErrorf("code", "this code has expired (codes last 5 minutes): request a new one")
	}
	return c, nil
}

// checkCode checks a typed code against a challenge; secret is the authenticator's secret for app
// codes. A right code uses the challenge up (a second request with it fails) and answers the
// authenticator's time step (0 for sent codes). A wrong code is EUNAUTHORIZED (so that a sign-in
// throttle counts it) and counts against the challenge, which dies after MaxCodeAttempts; nothing
// else is stored. A malformed, expired or used code is EINVALID.
func (s *SelfService) checkCode(ctx context.Context, c *Challenge, typed, secret string) (int64, error) {
	code, err := normalizeCode(typed)
	if err != nil {
		return 0, err
	}
	var ok bool
	var step int64
	if c.Channel == ChannelApp {
		step, ok = totpMatch(secret, code, s.now())
	} else {
		ok = codeMatches(c.CodeHash, code)
	}
	if !ok {
		left, err := s.Store.FailChallenge(ctx, c.ID, MaxCodeAttempts)
		if err != nil {
			return 0, err
		}
		if left <= 0 {
			return 0, &Error{Code: EUNAUTHORIZED, Field: "code", Message: "that code is not right, and that was the last try: request a new code"}
		}
		tries := "tries"
		if left == 1 {
			tries = "try"
		}
		return 0, &Error{Code: EUNAUTHORIZED, Field: "code", Message: fmt.Sprintf("that code is not right: check it and try again (%d %s left)", left, tries)}
	}
	if took, err := s.Store.TakeChallenge(ctx, c.ID); err != nil {
		return 0, err
	} else if !took {
		return 0, FieldErrorf("code", "this code was already used: request a new one")
	}
	return step, nil
}

// ResendInterval is the least time between two codes sent for one session.
const ResendInterval = 30 * time.Second

// putChallenge stores a challenge and, for a phone, sends its code. A code that cannot be sent is
// withdrawn and answered EUNAVAILABLE. A session may have a code sent once every ResendInterval,
// so that no one can make the portal flood a phone.
func (s *SelfService) putChallenge(ctx context.Context, c *Challenge) error {
	now := s.now()
	if c.Channel != ChannelApp {
		prev, err := s.Store.FindChallenge(ctx, c.SessionHash)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return err
		}
		if wait := ResendInterval - now.Sub(prevSent(prev)); err == nil && wait > 0 {
			return &Error{Code: EINVALID, Field: "phone", Message: fmt.Sprintf("a code was sent a moment ago: wait %d seconds before asking for another", int((wait+time.Second-1)/time.Second))}
		}
	}
	c.CreatedAt, c.ExpiresAt = now, now.Add(CodeTTL)
	var code string
	if c.Channel != ChannelApp {
		code, c.CodeHash = newCode()
	}
	if err := s.Store.PutChallenge(ctx, c); err != nil {
		return err
	}
	if code == "" {
		return nil
	}
	if err := s.Sender.Send(ctx, Message{To: c.Target, Channel: c.Channel, Text: codeMessage(code)}); err != nil {
		s.OnError("a one-time code could not be sent", err)
		s.Store.TakeChallenge(ctx, c.ID)
		return &Error{Code: EUNAVAILABLE, Field: "phone", Message: "the code could not be sent to " + MaskPhone(c.Target) + ": try again in a moment, or choose another method"}
	}
	return nil
}

// prevSent is when a challenge's code was sent; zero for an authenticator's challenge.
func prevSent(c *Challenge) time.Time {
	if c == nil || c.Channel == ChannelApp {
		return time.Time{}
	}
	return c.CreatedAt
}

// CodePrompt describes the code a session waits for, for the page that asks for it.
type CodePrompt struct {
	Method  MethodType
	Channel Channel
	Masked  string // the masked phone number a code went to; "" for the app
	Expires time.Time
}

func promptFor(c *Challenge) *CodePrompt {
	p := &CodePrompt{Method: c.Method, Channel: c.Channel, Expires: c.ExpiresAt}
	if c.Channel != ChannelApp {
		p.Masked = MaskPhone(c.Target)
	}
	return p
}
