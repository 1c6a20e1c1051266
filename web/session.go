package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/mfaportal/mfaportal/mfa"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "mfaportal_session"

// SessionStore is a gorilla/sessions store that keeps only an opaque, signed and encrypted session
// id in the cookie and the session itself in the portal's store, so that sign-out and expiry
// really end a session. Sessions expire after IdleTimeout without a request and after MaxAge in all.
type SessionStore struct {
	Store       mfa.SessionStore
	Codecs      []securecookie.Codec
	Secure      bool // set the cookie's Secure flag (public URL is https)
	IdleTimeout time.Duration
	MaxAge      time.Duration
	Now         func() time.Time
}

var _ sessions.Store = (*SessionStore)(nil)

// NewSessionStore builds a store from a 64-byte key: 32 bytes to sign, 32 to encrypt.
func NewSessionStore(store mfa.SessionStore, key []byte, secure bool, idle, maxAge time.Duration) *SessionStore {
	codec := securecookie.New(key[:32], key[32:64])
	codec.MaxAge(int(maxAge / time.Second))
	return &SessionStore{Store: store, Codecs: []securecookie.Codec{codec}, Secure: secure, IdleTimeout: idle, MaxAge: maxAge, Now: time.Now}
}

// options are set explicitly on every cookie: gorilla/sessions v1.4's defaults are unsafe.
func (s *SessionStore) options() *sessions.Options {
	return &sessions.Options{
		Path:     "/",
		MaxAge:   0, // a browser-session cookie; the server enforces idle and absolute expiry
		Secure:   s.Secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// clearCookie tells the browser to forget its session cookie.
func (s *SessionStore) clearCookie(w http.ResponseWriter) {
	o := s.options()
	o.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(SessionCookie, "", o))
}

// Get returns the request's session, cached per request.
func (s *SessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session named by the request's cookie, or returns a new, empty one when there is
// none, it was tampered with, or it has expired. It never fails on a bad cookie.
func (s *SessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	sess.Options = s.options()
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	var id string
	if err := securecookie.DecodeMulti(name, c.Value, &id, s.Codecs...); err != nil {
		return sess, nil
	}
	row, err := s.Store.FindSession(r.Context(), id)
	if err != nil {
		if mfa.ErrorCode(err) == mfa.ENOTFOUND {
			return sess, nil
		}
		return sess, err
	}
	now := s.Now()
	if now.Sub(row.LastSeenAt) > s.IdleTimeout || now.Sub(row.CreatedAt) > s.MaxAge {
		s.Store.DeleteSession(r.Context(), id)
		sess.Values["expired"] = true
		return sess, nil
	}
	sess.ID = id
	sess.IsNew = false
	sess.Values["account"] = row.Account
	sess.Values["role"] = string(row.Role)
	sess.Values["method"] = row.Method
	// Record activity at most once a minute, to keep reads cheap, and well within the idle
	// timeout, so that a session in use never expires (--session-idle 1m: every 15 s).
	if now.Sub(row.LastSeenAt) >= min(time.Minute, s.IdleTimeout/4) {
		s.Store.TouchSession(r.Context(), id, now)
	}
	return sess, nil
}

// Save writes the session: a new one is created with a fresh random id (so a session can never be
// fixed by an attacker), one with MaxAge < 0 is deleted and its cookie cleared.
func (s *SessionStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.Options != nil && sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.Store.DeleteSession(r.Context(), sess.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	if sess.ID == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		sess.ID = base64.RawURLEncoding.EncodeToString(b)
		now := s.Now()
		account, _ := sess.Values["account"].(string)
		role, _ := sess.Values["role"].(string)
		method, _ := sess.Values["method"].(string)
		if err := s.Store.CreateSession(r.Context(), &mfa.Session{ID: sess.ID, Account: account, Role: mfa.Role(role),
			Method: method, CreatedAt: now, LastSeenAt: now}); err != nil {
			return err
		}
	}
	encoded, err := securecookie.EncodeMulti(sess.Name(), sess.ID, s.Codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, s.options()))
	return nil
}
