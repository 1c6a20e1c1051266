package mfa

import (
	"io"
	"runtime"
	"strings"
	"testing"
)

// repeatReader yields head, then body repeated until n bytes in all, then tail: a large file that
// the test does not hold in memory.
type repeatReader struct {
	head, body, tail string
	n, off           int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	total := r.n + int64(len(r.tail))
	if r.off >= total {
		return 0, io.EOF
	}
	i := 0
	for i < len(p) && r.off < total {
		switch {
		case r.off < int64(len(r.head)):
			p[i] = r.head[r.off]
		case r.off < r.n:
			p[i] = r.body[(r.off-int64(len(r.head)))%int64(len(r.body))]
		default:
			p[i] = r.tail[r.off-r.n]
		}
		i++
		r.off++
	}
	return i, nil
}

func TestCSVFieldLimits(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"too many fields in the header", "Username,MFA Status" + strings.Repeat(",", 64) + "\n", "line 1 has more than 64 fields"},
		{"too many fields in a row", "Username,MFA Status\na@x.com,enabled\n" + strings.Repeat(",", 100) + "\n", "line 3 has more than 64 fields"},
		{"a long field", "Username,MFA Status\n" + strings.Repeat("a", 5000) + ",enabled\n", "line 2 has a field longer than 4 KiB"},
		{"a long quoted field over lines", "Username,MFA Status\na@x.com,enabled\n\"" + strings.Repeat("ab\n", 2000) + "\",enabled\n", "line 3 has a field longer than 4 KiB"},
		{"quoted delimiters are text", "Username,MFA Status\n\"" + strings.Repeat(",", 5000) + "\",enabled\n", "line 2 has a field longer than 4 KiB"},
	}
	for _, tt := range tests {
		_, err := readRows(strings.NewReader(tt.file), CSVLimits{})
		if ErrorCode(err) != ETOOLARGE || !strings.Contains(ErrorMessage(err), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	// Within the limits: 64 fields, a 4 KiB field, doubled quotes counted once.
	ok := "Username,MFA Status" + strings.Repeat(",x", 62) + "\n" + "\"" + strings.Repeat(`""`, 4096) + "\",enabled\n"
	recs, err := readRows(strings.NewReader(ok), CSVLimits{})
	if err != nil || len(recs) != 1 || len(recs[0].Fields[0]) != 4096 {
		t.Fatalf("a file at the limits: %v", err)
	}
	// A quoted field after a space (as spreadsheets write it) keeps its commas as text.
	if _, err := readRows(strings.NewReader("Username,MFA Status\na@x.com, \""+strings.Repeat(",", 100)+"\"\n"), CSVLimits{}); err != nil {
		t.Fatalf("quoted commas after a space: %v", err)
	}
	// Limits can be set.
	if _, err := readRows(strings.NewReader("a,b,c\n1,2,3\n"), CSVLimits{MaxFields: 2}); ErrorCode(err) != ETOOLARGE {
		t.Fatalf("MaxFields 2: %v", err)
	}
}

// A 50 MB file of commas (one line) is refused after reading a few kilobytes of it, holding almost
// no memory: issue 12 measured 4.27 GB before the limits.
func TestCSVCommaFileIsRefusedInBoundedMemory(t *testing.T) {
	for _, body := range []string{",", "\"\",", "a"} {
		r := &repeatReader{head: "Username,MFA Status\n", body: body, n: 50 << 20, tail: "\n"}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := readRows(r, CSVLimits{})
		runtime.ReadMemStats(&after)
		if ErrorCode(err) != ETOOLARGE {
			t.Fatalf("%q × 50 MB: %v", body, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
			t.Errorf("%q × 50 MB: %d KiB allocated to refuse it, want under 4 MiB", body, alloc>>10)
		}
		if r.off > 1<<20 {
			t.Errorf("%q × 50 MB: %d bytes read before refusing", body, r.off)
		}
	}
}

// readRows reads a whole file as a bulk update's plan does: the header, then every row.
func readRows(r io.Reader, lim CSVLimits) ([]Record, error) {
	c, err := OpenCSV(r, lim)
	if err != nil {
		return nil, err
	}
	var recs []Record
	for {
		rec, err := c.Read()
		if err == io.EOF {
			return recs, nil
		} else if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
	}
}
