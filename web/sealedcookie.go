package web

import (
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
)

// sealedCookie is a short-lived cookie whose value the server signed and encrypted with the
// session key: a sign-in half done (the password checked, the code not yet), an authenticator
// secret being enrolled, a notice for the next page. Its name is part of what is signed, so one
// cannot pass for another.
type sealedCookie struct {
	name   string
	path   string
	maxAge time.Duration
	secure bool
	codec  securecookie.Codec
}

func newSealedCookie(name, path string, maxAge time.Duration, key []byte, secure bool) *sealedCookie {
	codec := securecookie.New(key[:32], key[32:64])
	codec.MaxAge(int(maxAge / time.Second))
	codec.SetSerializer(securecookie.JSONEncoder{})
	return &sealedCookie{name: name, path: path, maxAge: maxAge, secure: secure, codec: codec}
}

// set stores v in the cookie.
func (c *sealedCookie) set(w http.ResponseWriter, v any) error {
	encoded, err := securecookie.EncodeMulti(c.name, v, c.codec)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: c.name, Value: encoded, Path: c.path, MaxAge: int(c.maxAge / time.Second),
		Expires: time.Now().Add(c.maxAge), Secure: c.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return nil
}

// get reads the cookie into v; false when there is none, or it is forged or expired.
func (c *sealedCookie) get(r *http.Request, v any) bool {
	ck, err := r.Cookie(c.name)
	return err == nil && securecookie.DecodeMulti(c.name, ck.Value, v, c.codec) == nil
}

// clear deletes the cookie.
func (c *sealedCookie) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: c.name, Value: "", Path: c.path, MaxAge: -1, Expires: time.Unix(1, 0),
		Secure: c.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// noticeCookie keeps a notice for the next page (handlers.NoticeKeeper).
type noticeCookie struct{ *sealedCookie }

// Keep stores msg for the next page.
func (c noticeCookie) Keep(w http.ResponseWriter, msg string) { c.set(w, msg) }

// Take returns the notice, once.
func (c noticeCookie) Take(w http.ResponseWriter, r *http.Request) string {
	var msg string
	if c.get(r, &msg) {
		c.clear(w)
	}
	return msg
}
