package auditsink

import (
	"encoding/json"
	"fmt"
	"log/syslog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// Syslog sends each record, as one JSON message, to syslog: the local daemon (Target "local",
// through log/syslog) or a collector at udp://HOST:PORT or tcp://HOST:PORT in RFC 5424's format
// (over TCP framed by octet counting, RFC 6587). Facility authpriv, severity info, app-name
// mfaportal, msgid audit.
type Syslog struct {
	Target string

	local *syslog.Writer
	conn  net.Conn
	host  string
}

var _ mfa.AuditSink = (*Syslog)(nil)

// ParseSyslogTarget checks a syslog target: "local", "udp://HOST:PORT" or "tcp://HOST:PORT".
func ParseSyslogTarget(s string) error {
	if s == "local" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "udp" && u.Scheme != "tcp") || u.Host == "" || u.Port() == "" || u.Path != "" {
		return fmt.Errorf("%q: expected local, udp://HOST:PORT or tcp://HOST:PORT", s)
	}
	return nil
}

// Name is "syslog:" and the target.
func (s *Syslog) Name() string { return "syslog:" + s.Target }

// priority is authpriv (10) × 8 + info (6).
const priority = 10*8 + 6

// WriteAudit sends the records, connecting (again) when needed.
func (s *Syslog) WriteAudit(records []*mfa.AuditRecord) error {
	if err := s.connect(); err != nil {
		return err
	}
	for _, r := range records {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if s.local != nil {
			err = s.local.Info(string(b))
		} else {
			err = s.send(r, b)
		}
		if err != nil {
			s.close()
			return err
		}
	}
	return nil
}

func (s *Syslog) connect() error {
	if s.local != nil || s.conn != nil {
		return nil
	}
	if s.Target == "local" {
		w, err := syslog.New(syslog.LOG_AUTHPRIV|syslog.LOG_INFO, "mfaportal")
		if err != nil {
			return err
		}
		s.local = w
		return nil
	}
	u, err := url.Parse(s.Target)
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout(u.Scheme, u.Host, 5*time.Second)
	if err != nil {
		return err
	}
	s.conn = conn
	if s.host, err = os.Hostname(); err != nil || s.host == "" {
		s.host = "-"
	}
	return nil
}

// send writes one RFC 5424 message: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG.
func (s *Syslog) send(r *mfa.AuditRecord, msg []byte) error {
	line := fmt.Sprintf("<%d>1 %s %s mfaportal %d audit - %s", priority,
		r.Time.UTC().Format("2006-01-02T15:04:05.000Z"), s.host, os.Getpid(), msg)
	if strings.HasPrefix(s.Target, "tcp://") {
		line = fmt.Sprintf("%d %s", len(line), line)
	}
	s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := s.conn.Write([]byte(line))
	return err
}

func (s *Syslog) close() {
	if s.local != nil {
		s.local.Close()
		s.local = nil
	}
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// Close ends the connection.
func (s *Syslog) Close() error {
	s.close()
	return nil
}
