package mfa

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's recommended m=19 MiB, t=2, p=1. Each sign-in takes 19 MiB for a
// moment; RFC 9106's 64 MiB option would let a handful of concurrent sign-ins push the process past
// its memory budget. Hashes carry their parameters, so older hashes keep working.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash of pw in the PHC string format. It runs in one of the
// password hashing slots (see PasswordHashSlots): when every slot stays busy for a few seconds it
// answers ErrBusy instead, so that memory stays bounded however many requests arrive.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	release, err := kdf.acquire()
	if err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	release()
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches a hash made by HashPassword, in constant time. A
// malformed hash does not match. Like HashPassword it runs in a hashing slot, and answers ErrBusy
// (with false) when none frees up in time: the caller must then not count a failure.
func CheckPassword(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, nil
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<20 {
		return false, nil
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, nil
	}
	release, err := kdf.acquire()
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	release()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummy is the hash compared against when an account does not exist, so that a wrong user name
// takes as long as a wrong password. It is made at first use (and made again if that was refused
// as busy).
var dummy struct {
	mu   sync.Mutex
	hash string
}

func dummyHash() (string, error) {
	dummy.mu.Lock()
	defer dummy.mu.Unlock()
	if dummy.hash == "" {
		h, err := HashPassword("not a real password, only for timing")
		if err != nil {
			return "", err
		}
		dummy.hash = h
	}
	return dummy.hash, nil
}

// CheckPasswordOrDummy is CheckPassword against hash, or against a dummy hash when hash is ""
// (then it never matches, but takes as long).
func CheckPasswordOrDummy(hash, pw string) (bool, error) {
	if hash == "" {
		h, err := dummyHash()
		if err != nil {
			return false, err
		}
		_, err = CheckPassword(h, pw)
		return false, err
	}
	return CheckPassword(hash, pw)
}

// RandomPassword returns a random password of 24 URL-safe characters.
func RandomPassword() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
