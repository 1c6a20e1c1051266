package mfa

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// EncodingWindows1252 is the CSVReader's Encoding of a file that is not UTF-8: what Excel's default
// "CSV (Comma delimited)" saves on Windows, and close enough to LibreOffice's Latin-1 (Windows-1252
// differs only where Latin-1 has unprintable control codes).
const EncodingWindows1252 = "Windows-1252"

// Windows1252Notice is shown on the verify page of a file read (in whole or in part) as Windows-1252.
const Windows1252Notice = "The file is not UTF-8: it was read as Windows-1252, the encoding Excel's \"CSV (Comma delimited)\" " +
	"and LibreOffice use by default. Check accented names in the preview; saving as \"CSV UTF-8\" avoids the guess."

// looksWindows1252 reports whether the start of a file without a byte order mark is not UTF-8:
// head is cut at its last line end, so that a character split by the cut does not count.
func looksWindows1252(head []byte, atEOF bool) bool {
	if !atEOF {
		if i := bytes.LastIndexAny(head, "\r\n"); i >= 0 {
			head = head[:i]
		} else {
			head = head[:len(head)-min(len(head), utf8.UTFMax-1)]
		}
	}
	return !utf8.Valid(head)
}

// decodeWindows1252 reads a field that is not valid UTF-8 as Windows-1252 (every byte is a character).
func decodeWindows1252(s string) string {
	out, err := charmap.Windows1252.NewDecoder().String(s)
	if err != nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return out
}

// crLines turns line ends of a lone CR (Excel's "CSV (Macintosh)", classic Mac OS) into LF; CRLF
// is left for encoding/csv, which reads it as one line end.
type crLines struct{ transform.NopResetter }

func (crLines) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		if nDst >= len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		b := src[nSrc]
		if b == '\r' {
			if nSrc+1 == len(src) && !atEOF {
				return nDst, nSrc, transform.ErrShortSrc // is an LF next?
			}
			if nSrc+1 == len(src) || src[nSrc+1] != '\n' {
				b = '\n'
			}
		}
		dst[nDst] = b
		nDst++
		nSrc++
	}
	return nDst, nSrc, nil
}

// UnsafeCSVField undoes SafeCSVField: a cell that SafeCSVField prefixed with a single quote (one
// that starts with quotes and then = + - @, tab or CR) loses that one quote. Every other cell is
// returned as is, so an export read back gives every value exactly, whatever it starts with.
func UnsafeCSVField(s string) string {
	if len(s) >= 2 && s[0] == '\'' && formulaStart(s[1:]) {
		return s[1:]
	}
	return s
}

// formulaStart reports whether a spreadsheet would read s as a formula, or s is a run of single
// quotes followed by such a start (so that SafeCSVField and UnsafeCSVField are exact inverses).
func formulaStart(s string) bool {
	s = strings.TrimLeft(s, "'")
	return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0]))
}
