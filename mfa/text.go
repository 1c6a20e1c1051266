package mfa

import (
	"strings"
	"unicode"
)

// CleanText removes what would let a display name or a reason disguise itself or the text around
// it: control characters (C0, DEL, C1; a tab or line break becomes a space) and the Unicode bidi
// controls (embeddings, overrides, isolates, marks) that reorder the text shown after them. Pages
// also show such text inside <bdi>, so that right-to-left text cannot reorder the page around it.
func CleanText(s string) string {
	if !strings.ContainsFunc(s, dirty) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case dirty(r):
			return -1
		}
		return r
	}, s)
}

func dirty(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}
