package mfa

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16File encodes s as UTF-16 with a BOM, as Excel's "Unicode text" does.
func utf16File(s string, bigEndian bool) []byte {
	var b bytes.Buffer
	units := append([]uint16{0xFEFF}, utf16.Encode([]rune(s))...)
	for _, u := range units {
		if bigEndian {
			b.WriteByte(byte(u >> 8))
			b.WriteByte(byte(u))
		} else {
			b.WriteByte(byte(u))
			b.WriteByte(byte(u >> 8))
		}
	}
	return b.Bytes()
}

// readAllCSV opens data and reads every record; err is the first error (from OpenCSV or Read).
func readAllCSV(data []byte, lim CSVLimits) (*CSVReader, []Record, error) {
	c, err := OpenCSV(bytes.NewReader(data), lim)
	if err != nil {
		return nil, nil, err
	}
	var recs []Record
	for {
		r, err := c.Read()
		if err == io.EOF {
			return c, recs, nil
		}
		if err != nil {
			return c, recs, err
		}
		recs = append(recs, r)
	}
}

func TestCSVReadGood(t *testing.T) {
	users := "Username,MFA Status\nada@contoso.com,Enabled\nbob@contoso.com,enforced\n"
	wantUsers := []Record{
		{2, []string{"ada@contoso.com", "Enabled"}},
		{3, []string{"bob@contoso.com", "enforced"}},
	}
	tests := []struct {
		name     string
		data     []byte
		encoding string
		delim    rune
		header   []string
		want     []Record
	}{
		{"UTF-8 comma LF", []byte(users), "UTF-8", ',', []string{"Username", "MFA Status"}, wantUsers},
		{"UTF-8 comma CRLF", []byte(strings.ReplaceAll(users, "\n", "\r\n")), "UTF-8", ',', []string{"Username", "MFA Status"}, wantUsers},
		{"UTF-8 no final newline", []byte(strings.TrimSuffix(users, "\n")), "UTF-8", ',', []string{"Username", "MFA Status"}, wantUsers},
		{"UTF-8 with BOM", append([]byte("\xEF\xBB\xBF"), users...), "UTF-8 with BOM", ',', []string{"Username", "MFA Status"}, wantUsers},
		{"semicolon", []byte(strings.ReplaceAll(users, ",", ";")), "UTF-8", ';', []string{"Username", "MFA Status"}, wantUsers},
		{"tab", []byte(strings.ReplaceAll(users, ",", "\t")), "UTF-8", '\t', []string{"Username", "MFA Status"}, wantUsers},
		{"UTF-16LE tab CRLF (Excel Unicode text)", utf16File(strings.ReplaceAll(strings.ReplaceAll(users, ",", "\t"), "\n", "\r\n"), false),
			"UTF-16LE", '\t', []string{"Username", "MFA Status"}, wantUsers},
		{"UTF-16BE tab", utf16File(strings.ReplaceAll(users, ",", "\t"), true), "UTF-16BE", '\t', []string{"Username", "MFA Status"}, wantUsers},
		{"UTF-16LE non-ASCII", utf16File("Username\tDisplay\nelodie@contoso.com\tÉlodie Lefèvre 😀\n", false), "UTF-16LE", '\t',
			[]string{"Username", "Display"}, []Record{{2, []string{"elodie@contoso.com", "Élodie Lefèvre 😀"}}}},
		{"UTF-8 non-ASCII", []byte("Username,Display\nsoren@contoso.com,Søren Sørensen\n"), "UTF-8", ',',
			[]string{"Username", "Display"}, []Record{{2, []string{"soren@contoso.com", "Søren Sørensen"}}}},
		{"delimiter inside quotes in header is not counted", []byte("\"Name;Surname\",MFA Status\nx,y\n"), "UTF-8", ',',
			[]string{"Name;Surname", "MFA Status"}, []Record{{2, []string{"x", "y"}}}},
		{"semicolon file with commas in a quoted header field", []byte("Username;\"Status, MFA\";x\na;b;c\n"), "UTF-8", ';',
			[]string{"Username", "Status, MFA", "x"}, []Record{{2, []string{"a", "b", "c"}}}},
		{"quoted fields with embedded delimiter and quotes", []byte("Username,Name\n\"ada@contoso.com\",\"Lovelace, Ada \"\"The Countess\"\"\"\n"), "UTF-8", ',',
			[]string{"Username", "Name"}, []Record{{2, []string{"ada@contoso.com", `Lovelace, Ada "The Countess"`}}}},
		{"multi-line quoted field keeps the file's line numbers", []byte("Username,Note\na,\"one\ntwo\nthree\"\nb,x\n\nc,\"p\r\nq\"\r\nd,y\n"), "UTF-8", ',',
			[]string{"Username", "Note"}, []Record{
				{2, []string{"a", "one\ntwo\nthree"}},
				{5, []string{"b", "x"}},
				{7, []string{"c", "p\nq"}},
				{9, []string{"d", "y"}},
			}},
		{"multi-line quoted field in UTF-16", utf16File("Username\tNote\r\na\t\"one\r\ntwo\"\r\nb\tx\r\n", false), "UTF-16LE", '\t',
			[]string{"Username", "Note"}, []Record{{2, []string{"a", "one\ntwo"}}, {4, []string{"b", "x"}}}},
		{"blank lines and lines of only delimiters skipped", []byte("\n\n  \nUsername,MFA Status\n\n,\n , ,\n;;\n\t\nada@contoso.com,Enabled\n\r\n,,,,\nbob@contoso.com,Disabled\n\n\n"), "UTF-8", ',',
			[]string{"Username", "MFA Status"}, []Record{{10, []string{"ada@contoso.com", "Enabled"}}, {13, []string{"bob@contoso.com", "Disabled"}}}},
		{"semicolon header after a line of commas", []byte(",,\nUsername;MFA Status\nada@contoso.com;Enabled\n"), "UTF-8", ';',
			[]string{"Username", "MFA Status"}, []Record{{3, []string{"ada@contoso.com", "Enabled"}}}},
		{"fields and header trimmed", []byte("  Username , MFA Status  \n ada@contoso.com ,  Enabled \n"), "UTF-8", ',',
			[]string{"Username", "MFA Status"}, []Record{{2, []string{"ada@contoso.com", "Enabled"}}}},
		{"ragged rows allowed", []byte("Username,MFA Status,Extra\na\nb,c,d,e\n"), "UTF-8", ',',
			[]string{"Username", "MFA Status", "Extra"}, []Record{{2, []string{"a"}}, {3, []string{"b", "c", "d", "e"}}}},
		{"header only", []byte("Username,MFA Status\n"), "UTF-8", ',', []string{"Username", "MFA Status"}, nil},
		{"single column header", []byte("Username\nada@contoso.com\n"), "UTF-8", ',', []string{"Username"}, []Record{{2, []string{"ada@contoso.com"}}}},
		{"tie between delimiters gives comma", []byte("a;b,c\n1;2,3\n"), "UTF-8", ',', []string{"a;b", "c"}, []Record{{2, []string{"1;2", "3"}}}},
		// Files as spreadsheets save them.
		{"CR-only line ends (Excel CSV Macintosh)", []byte(strings.ReplaceAll(users, "\n", "\r")), "UTF-8", ',', []string{"Username", "MFA Status"}, wantUsers},
		{"CR-only with blank lines and a quoted line break", []byte("Username,Note\r\ra,\"one\rtwo\"\rb,x\r"), "UTF-8", ',',
			[]string{"Username", "Note"}, []Record{{3, []string{"a", "one\ntwo"}}, {5, []string{"b", "x"}}}},
		{"CR-only, semicolons, Windows-1252", []byte("Username;Nom\rjorg@contoso.com;J\xf6rg\r"), "Windows-1252", ';',
			[]string{"Username", "Nom"}, []Record{{2, []string{"jorg@contoso.com", "Jörg"}}}},
		{"space before an opening quote", []byte("Username, \"MFA Status\"\nada@contoso.com, \"Enabled\"\nbob@contoso.com,  \"enforced\"\n"), "UTF-8", ',',
			[]string{"Username", "MFA Status"}, wantUsers},
		{"space before an opening quote, semicolons", []byte("Username; \"MFA Status\"\n\"ada@contoso.com\"; \"a;b\"\n"), "UTF-8", ';',
			[]string{"Username", "MFA Status"}, []Record{{2, []string{"ada@contoso.com", "a;b"}}}},
		{"Windows-1252 header (Excel CSV on Windows)", []byte("Username,Statut \xe9tat\r\nada@contoso.com,Enabled\r\n"), "Windows-1252", ',',
			[]string{"Username", "Statut état"}, []Record{{2, []string{"ada@contoso.com", "Enabled"}}}},
		{"Windows-1252 characters that Latin-1 lacks", []byte("Username,Name\nzoe@contoso.com,Zo\xeb \x80 \x9cuvre \x93q\x94\n"), "Windows-1252", ',',
			[]string{"Username", "Name"}, []Record{{2, []string{"zoe@contoso.com", "Zoë € œuvre “q”"}}}},
		{"Latin-1 (LibreOffice) data line", []byte("Username,MFA Status\nada@contoso.com,Enabled\nj\xf6rg@contoso.com,Enabled\n"), "Windows-1252", ',',
			[]string{"Username", "MFA Status"}, []Record{{2, []string{"ada@contoso.com", "Enabled"}}, {3, []string{"jörg@contoso.com", "Enabled"}}}},
		{"Windows-1252 in a quoted field", []byte("Username,MFA Status\n\"\xff\",Enabled\n"), "Windows-1252", ',',
			[]string{"Username", "MFA Status"}, []Record{{2, []string{"ÿ", "Enabled"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, recs, err := readAllCSV(tt.data, CSVLimits{})
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if c.Encoding != tt.encoding {
				t.Errorf("Encoding = %q, want %q", c.Encoding, tt.encoding)
			}
			if (tt.encoding == EncodingWindows1252) != (c.Notice() == Windows1252Notice) {
				t.Errorf("Notice() = %q for a file in %s", c.Notice(), tt.encoding)
			}
			if c.Delimiter != tt.delim {
				t.Errorf("Delimiter = %q, want %q", c.Delimiter, tt.delim)
			}
			if !slices.Equal(c.Header, tt.header) {
				t.Errorf("Header = %q, want %q", c.Header, tt.header)
			}
			if len(recs) != len(tt.want) {
				t.Fatalf("got %d records %+v, want %d %+v", len(recs), recs, len(tt.want), tt.want)
			}
			for i := range recs {
				if recs[i].Line != tt.want[i].Line || !slices.Equal(recs[i].Fields, tt.want[i].Fields) {
					t.Errorf("record %d = line %d %q, want line %d %q", i, recs[i].Line, recs[i].Fields, tt.want[i].Line, tt.want[i].Fields)
				}
			}
		})
	}
}

func TestCSVColumn(t *testing.T) {
	c, err := OpenCSV(strings.NewReader("  USERNAME ;mfa   status; Extra Column ;\n"), CSVLimits{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want int
	}{
		{"Username", 0},
		{"username", 0},
		{" UserName ", 0},
		{"MFA Status", 1},
		{"mfa status", 1},
		{"MFA  Status", 1},
		{"  mfa\tstatus ", 1},
		{"extra column", 2},
		{"MFAStatus", -1},
		{"Status", -1},
		{"Display Name", -1},
	}
	for _, tt := range tests {
		if got := c.Column(tt.name); got != tt.want {
			t.Errorf("Column(%q) = %d, want %d (header %q)", tt.name, got, tt.want, c.Header)
		}
	}
	// A BOM left in the first header name (e.g. a UTF-8 BOM inside a UTF-16 file) does not hide it.
	c, err = OpenCSV(bytes.NewReader(utf16File("\ufeffUsername\tMFA Status\n", false)), CSVLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Column("username"); got != 0 {
		t.Errorf("Column(username) with a doubled BOM = %d, want 0 (header %q)", got, c.Header)
	}
}

// TestCSVRefused checks every way a file is refused as a whole: the error code, and a message that
// says what was expected or what was found.
func TestCSVRefused(t *testing.T) {
	big := "Username,MFA Status\n" + strings.Repeat("someone.with.a.long.name@contoso.com,Enabled\n", 5000) // ~225 KB
	tests := []struct {
		name     string
		data     []byte
		lim      CSVLimits
		code     string
		contains []string // parts of the message
	}{
		{"empty file", nil, CSVLimits{}, EINVALID, []string{"empty", "header"}},
		{"BOM only", []byte("\xEF\xBB\xBF"), CSVLimits{}, EINVALID, []string{"empty"}},
		{"UTF-16 BOM only", []byte{0xFF, 0xFE}, CSVLimits{}, EINVALID, []string{"empty"}},
		{"blank lines only", []byte("\n\r\n   \n"), CSVLimits{}, EINVALID, []string{"no header", "Username,MFA Status"}},
		{"delimiters only", []byte(",,,\n;;\n"), CSVLimits{}, EINVALID, []string{"no header"}},
		{"binary (NUL bytes)", []byte("PK\x03\x04\x00\x00\x08\x00binary"), CSVLimits{}, EINVALID, []string{"NUL", "expected"}},
		{"UTF-16 without BOM", utf16File("Username\tMFA Status\n", false)[2:], CSVLimits{}, EINVALID, []string{"NUL"}},
		{"NUL byte past the first 64 KiB", []byte(big[:70000] + "\n\x00,Enabled\n"), CSVLimits{}, EINVALID, []string{"NUL"}},
		{"unterminated quote", []byte("Username,MFA Status\nada@contoso.com,Enabled\n\"bob@contoso.com,Enabled\ncarl@contoso.com,Enabled\n"), CSVLimits{}, EINVALID,
			[]string{"line 3", "not closed"}},
		{"unterminated quote in header", []byte("\"Username,MFA Status\n"), CSVLimits{}, EINVALID, []string{"line 1", "not closed"}},
		{"text after closing quote", []byte("Username,MFA Status\n\"ada\"@contoso.com,Enabled\n"), CSVLimits{}, EINVALID, []string{"line 2", "closing quote"}},
		{"bare quote in unquoted field", []byte("Username,MFA Status\nada\"x@contoso.com,Enabled\n"), CSVLimits{}, EINVALID, []string{"line 2", "not quoted"}},
		{"over the size limit (small file)", []byte("Username,MFA Status\nada@contoso.com,Enabled\n"), CSVLimits{MaxBytes: 30}, ETOOLARGE, []string{"larger than 30 bytes"}},
		{"over the size limit past the first 64 KiB", []byte(big), CSVLimits{MaxBytes: 100 << 10}, ETOOLARGE, []string{"larger than 100 KiB"}},
		{"over the size limit, UTF-16", utf16File(big, false), CSVLimits{MaxBytes: 200 << 10}, ETOOLARGE, []string{"larger than 200 KiB"}},
		{"over the size limit in the BOM", []byte("\xEF\xBB\xBFUsername"), CSVLimits{MaxBytes: 2}, ETOOLARGE, []string{"larger than 2 bytes"}},
		{"over the row limit", []byte("Username,MFA Status\na,Enabled\n\nb,Enabled\n,\nc,Enabled\nd,Enabled\n"), CSVLimits{MaxRows: 3}, ETOOLARGE,
			[]string{"more than 3 rows", "line 7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAllCSV(tt.data, tt.lim)
			if err == nil {
				t.Fatalf("no error, want %s", tt.code)
			}
			if code := ErrorCode(err); code != tt.code {
				t.Errorf("code %q, want %q (%v)", code, tt.code, err)
			}
			msg := ErrorMessage(err)
			if strings.TrimSpace(msg) == "" || strings.Contains(msg, "internal error") {
				t.Fatalf("message %q is not a clear, user-facing message", msg)
			}
			for _, want := range tt.contains {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not contain %q", msg, want)
				}
			}
		})
	}
}

func TestCSVLimitsBoundary(t *testing.T) {
	data := []byte("Username,MFA Status\nada@contoso.com,Enabled\nbob@contoso.com,Enabled\n")
	// Exactly the size limit is accepted; one byte less is refused.
	if _, recs, err := readAllCSV(data, CSVLimits{MaxBytes: int64(len(data))}); err != nil || len(recs) != 2 {
		t.Errorf("file of exactly MaxBytes: %d records, %v; want 2, nil", len(recs), err)
	}
	if _, _, err := readAllCSV(data, CSVLimits{MaxBytes: int64(len(data) - 1)}); ErrorCode(err) != ETOOLARGE {
		t.Errorf("file of MaxBytes+1: %v, want ETOOLARGE", err)
	}
	// Exactly the row limit is accepted; blank lines and the header do not count.
	rows := []byte("Username,MFA Status\n\na,Enabled\n,\nb,Enabled\n\n")
	if _, recs, err := readAllCSV(rows, CSVLimits{MaxRows: 2}); err != nil || len(recs) != 2 {
		t.Errorf("file of exactly MaxRows: %d records, %v; want 2, nil", len(recs), err)
	}
	if _, _, err := readAllCSV(rows, CSVLimits{MaxRows: 1}); ErrorCode(err) != ETOOLARGE {
		t.Errorf("file over MaxRows: %v, want ETOOLARGE", err)
	}
	// Zero limits mean the defaults.
	if _, recs, err := readAllCSV(data, CSVLimits{}); err != nil || len(recs) != 2 {
		t.Errorf("zero limits: %d records, %v; want 2, nil", len(recs), err)
	}
	if DefaultCSVLimits.MaxBytes != 50<<20 || DefaultCSVLimits.MaxRows != 1_000_000 {
		t.Errorf("DefaultCSVLimits = %+v, want 50 MiB and 1,000,000 rows", DefaultCSVLimits)
	}
}

// errReader fails after its data, as a broken network upload would.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestCSVReadFailure(t *testing.T) {
	_, _, err := func() (*CSVReader, []Record, error) {
		c, err := OpenCSV(&errReader{data: []byte("Username,MFA Status\na,b\n"), err: errors.New("connection reset")}, CSVLimits{})
		if err != nil {
			return nil, nil, err
		}
		for {
			if _, err := c.Read(); err != nil {
				return c, nil, err
			}
		}
	}()
	if err == nil || err == io.EOF {
		t.Fatalf("error = %v, want the read failure", err)
	}
	if ErrorMessage(err) == "" {
		t.Errorf("read failure %v has no message", err)
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"},
		{30, "30 bytes"},
		{1024, "1 KiB"},
		{1500, "1500 bytes"},
		{100 << 10, "100 KiB"},
		{50 << 20, "50 MiB"},
		{(1 << 20) + 1024, "1025 KiB"},
	}
	for _, tt := range tests {
		if got := FormatBytes(tt.n); got != tt.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestSafeCSVField(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"ada@contoso.com", "ada@contoso.com"},
		{"Enabled", "Enabled"},
		{"=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"},
		{"+1 555 0100", "'+1 555 0100"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tcmd", "'\tcmd"},
		{"\rcmd", "'\rcmd"},
		{"a=b", "a=b"},
		{" =1", " =1"},
		{"'quoted", "'quoted"},
		{"Élodie", "Élodie"},
		{"'=1", "''=1"},
		{"''+1", "'''+1"},
		{"'", "'"},
		{"o'brien@contoso.com", "o'brien@contoso.com"},
	}
	for _, tt := range tests {
		if got := SafeCSVField(tt.in); got != tt.want {
			t.Errorf("SafeCSVField(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if back := UnsafeCSVField(SafeCSVField(tt.in)); back != tt.in {
			t.Errorf("UnsafeCSVField(SafeCSVField(%q)) = %q", tt.in, back)
		}
	}
}

// FuzzSafeCSVField checks that UnsafeCSVField gives back every value SafeCSVField wrote, and that
// what SafeCSVField writes never starts a formula.
func FuzzSafeCSVField(f *testing.F) {
	for _, s := range []string{"", "=1", "'=1", "''", "+x@y.com", "'", "-", "a'b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		safe := SafeCSVField(s)
		if safe != "" && strings.ContainsRune("=+-@\t\r", rune(safe[0])) {
			t.Fatalf("SafeCSVField(%q) = %q starts a formula", s, safe)
		}
		if back := UnsafeCSVField(safe); back != s {
			t.Fatalf("UnsafeCSVField(SafeCSVField(%q)) = %q", s, back)
		}
	})
}

func TestLineErrors(t *testing.T) {
	var e LineErrors
	e.Add(3, "bad %s", "thing")
	e.Add(7, "worse")
	msg := e.Error()
	for _, want := range []string{"2 bad line(s)", "nothing was changed", "line 3: bad thing", "line 7: worse"} {
		if !strings.Contains(msg, want) {
			t.Errorf("LineErrors.Error() = %q, does not contain %q", msg, want)
		}
	}
	if ErrorCode(&e) != EINVALID || ErrorMessage(&e) != msg {
		t.Errorf("ErrorCode/ErrorMessage of LineErrors = %q/%q", ErrorCode(&e), ErrorMessage(&e))
	}
	var many LineErrors
	for i := range MaxLineErrors + 5 {
		many.Add(i+2, "x")
	}
	if len(many.Errors) != MaxLineErrors || many.Total != MaxLineErrors+5 || !strings.Contains(many.Error(), "... and 5 more") {
		t.Errorf("LineErrors over the cap: kept %d, total %d, tail %q", len(many.Errors), many.Total, many.Error()[len(many.Error())-30:])
	}
}

// FuzzOpenCSV feeds arbitrary bytes to OpenCSV and reads every record with small limits: it must
// never panic, every error must have a user-facing message, records must be valid UTF-8 without
// NUL bytes, and line numbers must increase.
func FuzzOpenCSV(f *testing.F) {
	seeds := [][]byte{
		nil,
		[]byte("Username,MFA Status\nada@contoso.com,Enabled\n"),
		[]byte("\xEF\xBB\xBFUsername;MFA Status\r\nada@contoso.com;enforced\r\n"),
		utf16File("Username\tMFA Status\r\nada@contoso.com\tDisabled\r\n", false),
		utf16File("Username\tMFA Status\nada@contoso.com\tDisabled\n", true),
		[]byte("a,b\n\"x\ny\",1\n\n,,\nz,2\n"),
		[]byte("a,b\n\"abc,1\n"),
		[]byte("a,b\nab\"c,1\n"),
		[]byte("a,b\n\xff\xfe\x00,1\n"),
		[]byte{0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00},
		[]byte{0xFE, 0xFF},
		[]byte(",,\n;;\n\t\t\n"),
		[]byte("Username;MFA Status\rj\xf6rg@contoso.com;Enabled\r\r"),
		[]byte("Username, \"MFA Status\"\r\na, \"b\"\r\n"),
		[]byte("a,b\n\x81\x8d\x8f\x90\x9d,\"\r\"\r"),
		[]byte("a\tb\n\t \"x\"\n"),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := CSVLimits{MaxBytes: 4 << 10, MaxRows: 20}
		c, err := OpenCSV(bytes.NewReader(data), lim)
		if err != nil {
			checkFuzzError(t, err)
			return
		}
		if c.Delimiter != ',' && c.Delimiter != ';' && c.Delimiter != '\t' {
			t.Fatalf("delimiter %q", c.Delimiter)
		}
		if len(c.Header) == 0 {
			t.Fatal("OpenCSV succeeded with no header")
		}
		_ = c.Column("Username")
		last := 0
		for n := 0; ; n++ {
			rec, err := c.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				checkFuzzError(t, err)
				return
			}
			if n >= lim.MaxRows {
				t.Fatalf("read %d records past the row limit %d", n+1, lim.MaxRows)
			}
			if rec.Line <= last {
				t.Fatalf("record line %d after line %d", rec.Line, last)
			}
			last = rec.Line
			for _, fld := range rec.Fields {
				if !utf8.ValidString(fld) || strings.IndexByte(fld, 0) >= 0 {
					t.Fatalf("field %q is not clean text", fld)
				}
			}
		}
	})
}

func checkFuzzError(t *testing.T, err error) {
	t.Helper()
	if err == io.EOF {
		t.Fatal("io.EOF from OpenCSV")
	}
	msg := ErrorMessage(err)
	if strings.TrimSpace(msg) == "" {
		t.Fatalf("error %#v has an empty message", err)
	}
	if code := ErrorCode(err); code != EINVALID && code != ETOOLARGE {
		t.Fatalf("error %v has code %q, want invalid or too_large", err, code)
	}
}
