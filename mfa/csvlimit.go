package mfa

import "io"

// Per-row limits of a CSV file (CSVLimits.MaxFields, MaxFieldBytes) when none are given. The
// widest file the portal reads has eight columns (users export); 4 KiB holds any user name,
// display name or method list. Without them a 52 MB line of commas took one request to 4.27 GB
// (issue 12): encoding/csv makes a whole record before it returns it.
const (
	DefaultMaxFields     = 64
	DefaultMaxFieldBytes = 4096
)

// fieldLimiter sits between the decoded text and encoding/csv and stops the read as soon as a row
// has more than maxFields fields or a field more than maxBytes bytes, so that no oversized record
// is ever assembled. It follows encoding/csv's quoting: a field that starts with a quote runs to
// the closing quote (doubled quotes and line breaks inside are text).
type fieldLimiter struct {
	r         io.Reader
	delimiter byte
	maxFields int
	maxBytes  int

	line      int // the physical line being read, from 1
	rowLine   int // the line the current row started on
	fields    int // fields of the current row so far
	bytes     int // bytes of the current field so far
	state     byte
	exhausted error
}

const (
	atFieldStart = iota
	inField
	inQuoted
	afterQuote // a quote inside a quoted field: closes it, or is the first of a doubled quote
)

func newFieldLimiter(r io.Reader, delimiter rune, maxFields, maxBytes int) *fieldLimiter {
	return &fieldLimiter{r: r, delimiter: byte(delimiter), maxFields: maxFields, maxBytes: maxBytes, line: 1, rowLine: 1, fields: 1}
}

func (f *fieldLimiter) Read(p []byte) (int, error) {
	if f.exhausted != nil {
		return 0, f.exhausted
	}
	n, err := f.r.Read(p)
	for i := range n {
		if lerr := f.step(p[i]); lerr != nil {
			f.exhausted = lerr
			return i, lerr // the bytes before the one over the limit
		}
	}
	return n, err
}

// step moves the state machine over one byte; it answers an error past a limit.
func (f *fieldLimiter) step(b byte) error {
	switch {
	case f.state == inQuoted && b != '"':
		f.bytes++
	case f.state == inQuoted: // b == '"'
		f.state = afterQuote
	case f.state == afterQuote && b == '"':
		f.state, f.bytes = inQuoted, f.bytes+1
	case b == f.delimiter:
		f.fields++
		f.state, f.bytes = atFieldStart, 0
	case b == '\n':
		f.fields, f.state, f.bytes, f.rowLine = 1, atFieldStart, 0, f.line+1
	case f.state == atFieldStart && b == '"':
		f.state = inQuoted
	case f.state == atFieldStart && b == ' ': // `a, "b"`: the quote still opens the field
		f.bytes++
	default:
		f.state, f.bytes = inField, f.bytes+1
	}
	if b == '\n' {
		f.line++
	}
	if f.fields > f.maxFields {
		return Errorf(ETOOLARGE, "line %d has more than %d fields: expected a few columns such as %q", f.rowLine, f.maxFields, "Username,MFA Status")
	}
	if f.bytes > f.maxBytes {
		return Errorf(ETOOLARGE, "line %d has a field longer than %s: expected user names and short values", f.rowLine, FormatBytes(int64(f.maxBytes)))
	}
	return nil
}
