package main

import (
	"flag"
	"io"
	"strings"
	"testing"
)

// "mfaportal serve -h" names each flag's value in one word: the flag package takes a back-quoted
// word of a usage text as the value's name, so "(for `audit verify --against`)" printed
// "-audit-file audit verify --against".
func TestServeUsageNamesEachValueInOneWord(t *testing.T) {
	fs := newFlagSet("serve", io.Discard)
	serveFlags(fs, &config{})
	fs.VisitAll(func(f *flag.Flag) {
		if name, _ := flag.UnquoteUsage(f); strings.ContainsAny(name, " \t") {
			t.Errorf("-%s shows its value as %q", f.Name, name)
		}
	})
}
