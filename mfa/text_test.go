package mfa

import "testing"

func TestCleanText(t *testing.T) {
	tests := map[string]string{
		"Ada Lovelace":                    "Ada Lovelace",
		"Zoë Ångström — 山田":               "Zoë Ångström — 山田",
		"evil\u202Egnp.exe":               "evilgnp.exe",
		"a\u2066b\u2069c\u200fd\u061ce":   "abcde",
		"line\nbreak\ttab\rcr":            "line break tab cr",
		"nul\x00bell\x07del\x7fc1\u0085!": "nulbelldelc1!",
		"مرحبا":                           "مرحبا", // right-to-left text itself stays
	}
	for in, want := range tests {
		if got := CleanText(in); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
}
