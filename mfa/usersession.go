package mfa

import (
	"context"
	"time"
)

// UserSession is a directory user's signed-in browser. Only a random token travels in its cookie;
// the store keeps the token's hash. Stage is what the sign-in still needs: NeedNothing once the
// user is fully signed in.
type UserSession struct {
	Hash       string
	UserID     string
	UPN        string
	Stage      Need
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// PendingTTL is how long a sign-in may wait at its second step or at registration.
const PendingTTL = 15 * time.Minute

// ErrUserBlocked answers a correct password of a user whose sign-in is blocked. Only someone who
// knows the password reads it, so it tells an outsider nothing.
var ErrUserBlocked = &Error{Code: EFORBIDDEN, Message: "Your account is blocked from signing in. Contact your administrator."}

// ErrSignedOut answers a session that is unknown, expired or no longer valid.
var ErrSignedOut = &Error{Code: EUNAUTHORIZED, Message: "Your session has ended. Sign in again."}

// UserSignIn is a successful password check: the new session (its token goes in the cookie) and
// what the sign-in needs next.
type UserSignIn struct {
	User     *User
	Session  *UserSession
	Token    string
	Decision Decision
}

// SignIn checks a user's password and starts a session at the stage Decide gives. A wrong user
// name, a user without a password and a wrong password take the same time and give the same
// ErrBadCredentials; a blocked user with the right password gets ErrUserBlocked and no session.
// deviceToken is the browser's remembered-device cookie, "" if none.
func (s *SelfService) SignIn(ctx context.Context, upn, password, deviceToken string, in SignIn) (*UserSignIn, error) {
	if len(upn) > 256 || len(password) > 1024 || upn == "" || password == "" {
		CheckPasswordOrDummy("", password)
		return nil, ErrBadCredentials
	}
	u, hash, err := s.Store.FindCredentials(ctx, upn)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	if ok, err := CheckPasswordOrDummy(hash, password); err != nil {
		return nil, err
	} else if !ok {
		return nil, ErrBadCredentials
	}
	if !u.AccountEnabled {
		return nil, ErrUserBlocked
	}
	settings, err := s.Settings.LoadSettings(ctx)
	if err != nil {
		return nil, err
	}
	in.Now = s.now()
	if in.RememberedAt.IsZero() && deviceToken != "" {
		in.RememberedAt = s.rememberedAt(ctx, u, deviceToken)
	}
	d := Decide(settings, u, in)
	token, tokenHash := newSecret()
	sess := &UserSession{Hash: tokenHash, UserID: u.ID, UPN: u.UPN, Stage: d.Need, CreatedAt: in.Now, LastSeenAt: in.Now}
	if err := s.Store.CreateUserSession(ctx, sess); err != nil {
		return nil, err
	}
	return &UserSignIn{User: u, Session: sess, Token: token, Decision: d}, nil
}

// Session returns the session of a cookie's token and its user, as they are now. A token that is
// malformed, unknown or expired, or whose user is gone or blocked, is ErrSignedOut (and the
// session is deleted).
func (s *SelfService) Session(ctx context.Context, token string) (*UserSession, *User, error) {
	if !validSecret(token) {
		return nil, nil, ErrSignedOut
	}
	sess, err := s.Store.FindUserSession(ctx, HashToken(token))
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, ErrSignedOut
	}
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	idle := s.SessionIdle
	if sess.Stage != NeedNothing {
		idle = min(idle, PendingTTL)
	}
	if now.Sub(sess.LastSeenAt) > idle || now.Sub(sess.CreatedAt) > s.SessionMaxAge {
		return nil, nil, s.endSession(ctx, sess.Hash)
	}
	u, err := s.Directory.FindUser(ctx, sess.UPN)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, s.endSession(ctx, sess.Hash)
	}
	if err != nil {
		return nil, nil, err
	}
	if u.ID != sess.UserID || !u.AccountEnabled {
		return nil, nil, s.endSession(ctx, sess.Hash)
	}
	// Activity is recorded at most once a minute, to keep reads cheap.
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := s.Store.TouchUserSession(ctx, sess.Hash, now); err != nil {
			return nil, nil, err
		}
	}
	return sess, u, nil
}

func (s *SelfService) endSession(ctx context.Context, hash string) error {
	if err := s.Store.DeleteUserSession(ctx, hash); err != nil {
		return err
	}
	return ErrSignedOut
}

// SignOut ends a session; an unknown token is no error.
func (s *SelfService) SignOut(ctx context.Context, token string) error {
	if !validSecret(token) {
		return nil
	}
	return s.Store.DeleteUserSession(ctx, HashToken(token))
}

// ExpireSessions deletes the users' sessions that have expired.
func (s *SelfService) ExpireSessions(ctx context.Context) (int, error) {
	now := s.now()
	return s.Store.DeleteExpiredUserSessions(ctx, now.Add(-s.SessionIdle), now.Add(-s.SessionMaxAge))
}

// completeStage moves a session to signed in.
func (s *SelfService) completeStage(ctx context.Context, sess *UserSession) error {
	if err := s.Store.SetUserSessionStage(ctx, sess.Hash, NeedNothing); err != nil {
		return err
	}
	sess.Stage = NeedNothing
	return nil
}
