package mfa

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// This file holds what the stores (mfa/sqlite, mfa/postgres) compute alike, so that a data folder
// and a database copied from it index and encode users and plans the same way.

// Term is a search term of a user with its LCP: how many characters it shares with the user's
// previous term in sorted (byte) order. Of a user's terms that start with a prefix of n
// characters, exactly one has LCP < n, so a store counts and lists a match once per user.
type Term struct {
	Text string
	LCP  int
}

// UserTerms returns a user's sort key (the folded display name) and search terms (SearchTerms),
// sorted, without duplicates, each with its LCP.
func UserTerms(displayName, upn string) (sortKey string, terms []Term) {
	texts := SearchTerms(displayName, upn)
	sortKey = texts[0]
	slices.Sort(texts)
	texts = slices.Compact(texts)
	terms = make([]Term, len(texts))
	for i, t := range texts {
		terms[i].Text = t
		if i > 0 {
			terms[i].LCP = commonPrefixRunes(texts[i-1], t)
		}
	}
	return sortKey, terms
}

func commonPrefixRunes(a, b string) int {
	n := 0
	for a != "" && b != "" {
		ra, sa := utf8.DecodeRuneInString(a)
		rb, sb := utf8.DecodeRuneInString(b)
		if ra != rb || sa != sb || a[:sa] != b[:sb] {
			break
		}
		a, b, n = a[sa:], b[sb:], n+1
	}
	return n
}

// EncodeWarnings joins a bulk row's warnings with \x1f, each of PlanWarnings as \x01 and its index
// (one byte): most rows of a large plan carry the same two or three.
func EncodeWarnings(ws []string) string {
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(0x1f)
		}
		if k := slices.Index(PlanWarnings, w); k >= 0 && k < 0x1f {
			b.WriteByte(0x01)
			b.WriteByte(byte('0' + k))
		} else {
			b.WriteString(w)
		}
	}
	return b.String()
}

// DecodeWarnings is the inverse of EncodeWarnings.
func DecodeWarnings(s string) []string {
	if s == "" {
		return nil
	}
	ws := strings.Split(s, "\x1f")
	for i, w := range ws {
		if len(w) == 2 && w[0] == 0x01 {
			if k := int(w[1] - '0'); k >= 0 && k < len(PlanWarnings) {
				ws[i] = PlanWarnings[k]
			}
		}
	}
	return ws
}
