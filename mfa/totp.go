package mfa

import (
	"crypto/subtle"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTPIssuer names the portal in authenticator apps.
const TOTPIssuer = "mfaportal"

// The authenticator codes of SPEC §7: RFC 6238, SHA-1, 6 digits, 30 seconds.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// newTOTPKey makes a new authenticator secret (160 random bits, base32) and its otpauth:// URI.
func newTOTPKey(account string) (secret string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: TOTPIssuer, AccountName: account, Period: 30,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, SecretSize: 20})
	if err != nil {
		return "", err
	}
	return key.Secret(), nil
}

// TOTPURI is the otpauth:// URI of a secret, which an authenticator app reads from the QR code.
func TOTPURI(account, secret string) string {
	return "otpauth://totp/" + pathEscape(TOTPIssuer+":"+account) + "?algorithm=SHA1&digits=6&issuer=" + TOTPIssuer +
		"&period=30&secret=" + secret
}

// pathEscape escapes a label of an otpauth URI (Key Uri Format: URL-encoded, ':' kept as the
// issuer separator).
func pathEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '@' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

// totpMatch checks an authenticator code at now, one step either side for clock drift, and
// answers the time step it matched.
func totpMatch(secret, code string, now time.Time) (int64, bool) {
	if secret == "" {
		return 0, false
	}
	for _, skew := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(skew) * 30 * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / 30, true
		}
	}
	return 0, false
}
