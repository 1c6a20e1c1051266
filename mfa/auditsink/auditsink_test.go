package auditsink

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func records(n int) []*mfa.AuditRecord {
	var out []*mfa.AuditRecord
	prev := ""
	for i := range n {
		r := mfa.NewAuditRecord(mfa.CLIActor, mfa.SourceCLI, "ticket 42", time.Date(2026, 12, 1, 9, 0, i, 0, time.UTC))
		r.Action, r.Target, r.Before, r.After = mfa.AuditEnable, "ada@contoso.com", "Disabled", "Enabled"
		r.Seal([]byte(strings.Repeat("k", 32)), int64(i+1), prev)
		prev = r.Hash
		out = append(out, &r)
	}
	return out
}

func TestFileAppendsJSONLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f := File{Path: path}
	recs := records(3)
	if err := f.WriteAudit(recs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteAudit(recs[2:]); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the file: %v %v", info, err)
	}
	fh, _ := os.Open(path)
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	n := 0
	for sc.Scan() {
		var r mfa.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Seq != int64(n+1) || r.Hash != recs[n].Hash || !r.Time.Equal(recs[n].Time) {
			t.Fatalf("line %d: %q %v", n+1, sc.Text(), err)
		}
		n++
	}
	if n != 3 || f.Name() != "file:"+path {
		t.Fatalf("%d lines, name %q", n, f.Name())
	}
}

// rfc5424 is RFC 5424's header as the sink writes it: <PRI>VERSION TIMESTAMP HOST APP PROCID MSGID SD.
var rfc5424 = regexp.MustCompile(`^<86>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ mfaportal \d+ audit - (\{.*\})$`)

func TestSyslogOverUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s := &Syslog{Target: "udp://" + pc.LocalAddr().String()}
	defer s.Close()
	recs := records(2)
	if err := s.WriteAudit(recs); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for i := range 2 {
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		checkMessage(t, string(buf[:n]), recs[i])
	}
}

func TestSyslogOverTCPWithOctetCounting(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan []string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		var msgs []string
		for range 3 {
			lenText, err := br.ReadString(' ')
			if err != nil {
				break
			}
			n, _ := strconv.Atoi(strings.TrimSpace(lenText))
			msg := make([]byte, n)
			if _, err := io.ReadFull(br, msg); err != nil {
				break
			}
			msgs = append(msgs, string(msg))
		}
		got <- msgs
	}()
	s := &Syslog{Target: "tcp://" + l.Addr().String()}
	defer s.Close()
	recs := records(3)
	if err := s.WriteAudit(recs); err != nil {
		t.Fatal(err)
	}
	msgs := <-got
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, m := range msgs {
		checkMessage(t, m, recs[i])
	}
}

func checkMessage(t *testing.T, msg string, want *mfa.AuditRecord) {
	t.Helper()
	m := rfc5424.FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("not RFC 5424: %q", msg)
	}
	var r mfa.AuditRecord
	if err := json.Unmarshal([]byte(m[1]), &r); err != nil || r.Seq != want.Seq || r.Hash != want.Hash {
		t.Fatalf("message %q: %v", msg, err)
	}
}

func TestParseSyslogTarget(t *testing.T) {
	for _, ok := range []string{"local", "udp://127.0.0.1:514", "tcp://logs.contoso.com:6514"} {
		if err := ParseSyslogTarget(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "syslog", "udp://host", "http://host:514", "tcp://:514/x", "udp:host:514"} {
		if err := ParseSyslogTarget(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
