package mfa

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePhone reads a phone number as a person types it, with its country code
// ("+1 (425) 555-0100", "0044 20 7946 0958"), and returns it in E.164 ("+14255550100"). A number
// without a country code, of the wrong length for its country, or with letters is EINVALID on the
// field "phone".
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", FieldErrorf("phone", "enter a phone number with its country code, e.g. +1 425 555 0100")
	}
	if len(s) > 40 {
		return "", FieldErrorf("phone", "a phone number has at most 15 digits: this is %d characters long", len([]rune(s)))
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || strings.ContainsRune("+-() .", r)) {
			return "", FieldErrorf("phone", "%q is not a phone number: use digits, spaces and + ( ) - only", truncate(s, 40))
		}
	}
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if !strings.HasPrefix(s, "+") {
		return "", FieldErrorf("phone", "%q has no country code: start with + and the country code, e.g. +1 425 555 0100", truncate(s, 40))
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", FieldErrorf("phone", "%q is not a valid phone number for its country code", truncate(s, 40))
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// MaskPhone shows an E.164 number as its country code and last two digits, "+1 ••••••••00", as
// the original pages do, so that a screen over the shoulder does not give the number away.
func MaskPhone(e164 string) string {
	n, err := phonenumbers.Parse(e164, "")
	if err != nil || len(e164) < 4 {
		return "••••"
	}
	national := phonenumbers.GetNationalSignificantNumber(n)
	if len(national) < 3 {
		return "••••"
	}
	return "+" + strconv.Itoa(int(n.GetCountryCode())) + " " + strings.Repeat("•", len(national)-2) + national[len(national)-2:]
}
