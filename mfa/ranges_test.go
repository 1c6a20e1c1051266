package mfa

import (
	"strings"
	"testing"
)

func TestRangesThatTogetherCoverEverythingAreRefused(t *testing.T) {
	for _, text := range []string{
		"0.0.0.0/1\n128.0.0.0/1",
		"128.0.0.0/2\n0.0.0.0/1\n192.0.0.0/2",
		"0.0.0.0/2\n64.0.0.0/2\n128.0.0.0/1\n203.0.113.0/24",
	} {
		if _, errs := ParseRanges(text, false); len(errs) != 1 || !strings.Contains(errs[0].Message, "together cover every IPv4 address") {
			t.Errorf("%q: %v", text, errs)
		}
	}
	for _, text := range []string{
		"0.0.0.0/1\n128.0.0.0/2",              // 192.0.0.0 up is left
		"0.0.0.0/1\n128.0.0.1/32",             // not even close
		"1.0.0.0/8\n128.0.0.0/1",              // 0.0.0.0/8 is left
		"0.0.0.0/1\n128.0.0.0/2\n224.0.0.0/3", // 192.0.0.0/3 is left
	} {
		if _, errs := ParseRanges(text, false); len(errs) != 0 {
			t.Errorf("%q refused: %v", text, errs)
		}
	}
}
