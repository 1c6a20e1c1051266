package mfa

import (
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// foldTransformers are reused (a transform.Chain keeps state, so one is not safe for concurrent use).
var foldTransformers = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

// foldReplacer handles letters that do not decompose but that admins type without their stroke.
var foldReplacer = strings.NewReplacer("ø", "o", "ł", "l", "đ", "d", "ß", "ss", "æ", "ae", "œ", "oe", "ı", "i")

// Fold returns the search form of s: accents removed, lower-cased, spaces collapsed. Display
// names are sorted and searched by their folded form so that "élodie" sorts and matches as "elodie".
// It is safe for concurrent use.
func Fold(s string) string {
	out := s
	if !isASCII(s) {
		t := foldTransformers.Get().(transform.Transformer)
		var err error
		out, _, err = transform.String(t, s)
		foldTransformers.Put(t)
		if err != nil {
			out = s
		}
	}
	out = strings.ToLower(out)
	if !isASCII(out) {
		out = foldReplacer.Replace(out)
	}
	return strings.Join(strings.Fields(out), " ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// SearchTerms returns the folded prefixes under which a user is found: the whole display name,
// each later word of it, and the user name.
func SearchTerms(displayName, upn string) []string {
	dn := Fold(displayName)
	terms := []string{dn}
	words := strings.FieldsFunc(dn, func(r rune) bool {
		return unicode.IsSpace(r) || r == '-' || r == ',' || r == '(' || r == ')' || r == '.' || r == '\''
	})
	seen := map[string]bool{dn: true}
	for i, w := range words {
		if i == 0 && strings.HasPrefix(dn, w) {
			continue // already covered by the whole name
		}
		if !seen[w] {
			seen[w] = true
			terms = append(terms, w)
		}
	}
	if u := NormalizeUPN(upn); !seen[u] {
		terms = append(terms, u)
	}
	return terms
}
