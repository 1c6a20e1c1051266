package mfa

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// CSVLimits bound what a CSV upload may be.
type CSVLimits struct {
	MaxBytes      int64 // size of the file as uploaded
	MaxRows       int   // data rows, not counting the header and blank lines
	MaxFields     int   // fields of one row (0: DefaultMaxFields), enforced while reading
	MaxFieldBytes int   // bytes of one field (0: DefaultMaxFieldBytes), enforced while reading
}

// DefaultCSVLimits are SPEC §2's defaults: 50 MiB and 1,000,000 rows.
var DefaultCSVLimits = CSVLimits{MaxBytes: 50 << 20, MaxRows: 1_000_000}

// CSVReader reads the CSV files admins actually have: UTF-8 with or without BOM, UTF-16 with BOM
// (Excel's "Unicode text"), and text that is not UTF-8 read as Windows-1252 (Excel's and
// LibreOffice's default CSV); delimited by ',', ';' or tab (detected from the header line); CRLF,
// LF or CR alone (Excel's "CSV (Macintosh)"); quoted fields, also after a space that follows the
// delimiter; blank lines skipped. Line numbers are the file's own.
type CSVReader struct {
	Header    []string // as found, trimmed
	Delimiter rune
	Encoding  string // "UTF-8", "UTF-8 with BOM", "UTF-16LE", "UTF-16BE", "Windows-1252"
	// Transcoded is set once text that is not UTF-8 was read as Windows-1252: the whole file (its
	// start is not UTF-8), or fields of a file that looked like UTF-8 at first.
	Transcoded bool

	r      *csv.Reader
	src    *countingReader
	limits CSVLimits
	rows   int
}

// Record is one data row of a CSV file.
type Record struct {
	Line   int
	Fields []string
}

// errTooLarge is returned by countingReader past the size limit.
var errTooLarge = errors.New("too large")

type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n > c.limit {
		return 0, errTooLarge
	}
	if rest := c.limit + 1 - c.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.limit {
		return n, errTooLarge
	}
	return n, err
}

// OpenCSV detects the encoding and delimiter and reads the header. It refuses, with a message that
// says what was expected and what was found, an empty file, a binary file, a file in another
// encoding and a file over the size limit.
func OpenCSV(r io.Reader, lim CSVLimits) (*CSVReader, error) {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultCSVLimits.MaxBytes
	}
	if lim.MaxRows <= 0 {
		lim.MaxRows = DefaultCSVLimits.MaxRows
	}
	lim.MaxFields, lim.MaxFieldBytes = cmpOr(lim.MaxFields, DefaultMaxFields), cmpOr(lim.MaxFieldBytes, DefaultMaxFieldBytes)
	src := &countingReader{r: r, limit: lim.MaxBytes}
	br := bufio.NewReaderSize(src, 64<<10)
	c := &CSVReader{src: src, limits: lim}

	bom, _ := br.Peek(3)
	var text io.Reader = br
	switch {
	case bytes.HasPrefix(bom, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
		c.Encoding = "UTF-8 with BOM"
	case bytes.HasPrefix(bom, []byte{0xFF, 0xFE}):
		text = transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
		c.Encoding = "UTF-16LE"
	case bytes.HasPrefix(bom, []byte{0xFE, 0xFF}):
		text = transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder())
		c.Encoding = "UTF-16BE"
	default:
		c.Encoding = "UTF-8"
		head, err := br.Peek(64 << 10)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return nil, c.readError(err)
		}
		if bytes.IndexByte(head, 0) < 0 && looksWindows1252(head, err == io.EOF) {
			text = transform.NewReader(br, charmap.Windows1252.NewDecoder())
			c.Encoding, c.Transcoded = EncodingWindows1252, true
		}
	}
	tr := bufio.NewReaderSize(transform.NewReader(text, crLines{}), 64<<10)

	// Detect the delimiter from the first non-blank line (the header).
	head, err := tr.Peek(64 << 10)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, c.readError(err)
	}
	if len(head) == 0 {
		return nil, Errorf(EINVALID, "the file is empty: expected a CSV file with a header line")
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return nil, Errorf(EINVALID, "the file is not a text file (it contains NUL bytes): expected a CSV file in UTF-8 or UTF-16 with BOM")
	}
	first := firstLine(head)
	c.Delimiter = detectDelimiter(first)

	c.r = csv.NewReader(newFieldLimiter(tr, c.Delimiter, lim.MaxFields, lim.MaxFieldBytes))
	c.r.Comma = c.Delimiter
	// `a, "b"`: a space between the delimiter and an opening quote is not a bare quote. (Not for
	// tab-delimited files: the delimiter is itself a space there.)
	c.r.TrimLeadingSpace = c.Delimiter != '\t'
	c.r.FieldsPerRecord = -1
	c.r.ReuseRecord = false
	for {
		rec, err := c.r.Read()
		if err == io.EOF {
			return nil, Errorf(EINVALID, "the file has no header line: expected a header such as %q", "Username,MFA Status")
		}
		if err != nil {
			return nil, c.readError(err)
		}
		if blankRecord(rec) {
			continue
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(c.text(rec[i]))
		}
		if len(rec) > 0 {
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
		}
		c.Header = rec
		return c, nil
	}
}

// Column returns the index of the header named name (case-insensitive, surrounding spaces and
// inner runs of spaces ignored), or -1.
func (c *CSVReader) Column(name string) int {
	want := strings.Join(strings.Fields(strings.ToLower(name)), " ")
	for i, h := range c.Header {
		if strings.Join(strings.Fields(strings.ToLower(h)), " ") == want {
			return i
		}
	}
	return -1
}

// Read returns the next non-blank data row, or io.EOF. A malformed row or a row over the limit is an
// error naming the line; after such an error the file should be refused as a whole.
func (c *CSVReader) Read() (Record, error) {
	for {
		rec, err := c.r.Read()
		if err == io.EOF {
			return Record{}, io.EOF
		}
		if err != nil {
			return Record{}, c.readError(err)
		}
		if blankRecord(rec) {
			continue
		}
		line, _ := c.r.FieldPos(0)
		c.rows++
		if c.rows > c.limits.MaxRows {
			return Record{}, Errorf(ETOOLARGE, "the file has more than %d rows (line %d): split it into smaller files", c.limits.MaxRows, line)
		}
		for i, f := range rec {
			f = c.text(f)
			if strings.IndexByte(f, 0) >= 0 {
				return Record{}, Errorf(EINVALID, "line %d contains a NUL byte: expected text", line)
			}
			rec[i] = strings.TrimSpace(f)
		}
		return Record{Line: line, Fields: rec}, nil
	}
}

// text is a field as text: one that is not valid UTF-8 is read as Windows-1252.
func (c *CSVReader) text(f string) string {
	if utf8.ValidString(f) {
		return f
	}
	c.Transcoded = true
	return decodeWindows1252(f)
}

// Notice is what the admin should know about how the file was read ("" when nothing).
func (c *CSVReader) Notice() string {
	if c.Transcoded {
		return Windows1252Notice
	}
	return ""
}

func (c *CSVReader) readError(err error) error {
	var limit *Error
	if errors.As(err, &limit) {
		return limit
	}
	if errors.Is(err, errTooLarge) {
		return Errorf(ETOOLARGE, "the file is larger than %s: split it into smaller files", FormatBytes(c.limits.MaxBytes))
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, errTooLarge) {
			return Errorf(ETOOLARGE, "the file is larger than %s: split it into smaller files", FormatBytes(c.limits.MaxBytes))
		}
		line, msg := pe.Line, pe.Err.Error()
		switch {
		case errors.Is(pe.Err, csv.ErrQuote):
			// A quoted field that is never closed, or text after a closing quote: name the line where
			// the field starts, not the end of the file.
			line = pe.StartLine
			msg = "a quoted field is not closed, or has text after its closing quote; expected \"text\" with inner quotes doubled (\"\")"
		case errors.Is(pe.Err, csv.ErrBareQuote):
			msg = "a quote (\") inside a field that is not quoted; quote the whole field and double the inner quotes"
		}
		return Errorf(EINVALID, "line %d: %s", line, msg)
	}
	return Errorf(EINVALID, "the file could not be read as text: %v", err)
}

func firstLine(b []byte) []byte {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		line := b
		if i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		// Blank lines and lines of only delimiters are skipped, as Read skips them.
		if len(bytes.Trim(line, " \t\r\n\v\f,;\ufeff")) > 0 {
			return bytes.TrimPrefix(bytes.TrimRight(line, "\r"), []byte("\ufeff"))
		}
	}
	return nil
}

// detectDelimiter picks the most frequent of ',', ';' and tab outside quotes; ',' on a tie.
func detectDelimiter(line []byte) rune {
	counts := map[rune]int{}
	inQuotes := false
	for _, b := range line {
		switch {
		case b == '"':
			inQuotes = !inQuotes
		case !inQuotes && (b == ',' || b == ';' || b == '\t'):
			counts[rune(b)]++
		}
	}
	best := ','
	for _, d := range []rune{'\t', ';'} {
		if counts[d] > counts[best] {
			best = d
		}
	}
	return best
}

// blankRecord reports whether a record is a blank line or a line of only delimiters (of any of the
// three kinds, so that it agrees with firstLine).
func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.Trim(f, " \t\r\n\v\f,;\ufeff") != "" {
			return false
		}
	}
	return true
}

// FormatBytes says a byte size as an admin reads it: "50 MiB", "64 KiB" or "100 bytes".
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// SafeCSVField neutralizes a cell that a spreadsheet would run as a formula (one starting with
// = + - @, tab or CR) by prefixing a single quote; a cell of quotes before such a start gets one
// more, so that UnsafeCSVField (what bulk update reads a user name with) gives back every value.
// Every other cell, such as nearly every user name, is written as it is.
func SafeCSVField(s string) string {
	if formulaStart(s) {
		return "'" + s
	}
	return s
}

// LineError is what is wrong with one line of a file.
type LineError struct {
	Line    int
	Message string
}

// LineErrors is a file refused because of bad lines. It keeps the first MaxLineErrors and counts the rest.
type LineErrors struct {
	Errors []LineError
	Total  int
}

// MaxLineErrors is how many line errors are kept for display.
const MaxLineErrors = 1000

// Add records a bad line.
func (e *LineErrors) Add(line int, format string, args ...any) {
	e.Total++
	if len(e.Errors) < MaxLineErrors {
		e.Errors = append(e.Errors, LineError{Line: line, Message: fmt.Sprintf(format, args...)})
	}
}

func (e *LineErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bad line(s); nothing was changed", e.Total)
	for _, le := range e.Errors {
		fmt.Fprintf(&b, "\nline %d: %s", le.Line, le.Message)
	}
	if e.Total > len(e.Errors) {
		fmt.Fprintf(&b, "\n... and %d more", e.Total-len(e.Errors))
	}
	return b.String()
}
