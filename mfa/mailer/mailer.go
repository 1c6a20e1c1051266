// Package mailer sends the portal's email (the registration tab's notifications) through the
// organisation's SMTP server, with github.com/wneessen/go-mail. It implements mfa.Mailer.
package mailer

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.Mailer = (*SMTP)(nil)

// SMTP sends mail through one SMTP server.
type SMTP struct {
	host     string
	port     int
	implicit bool // TLS from the first byte (smtps), rather than STARTTLS
	policy   gomail.TLSPolicy
	user     string
	password string
	from     string
	// TLSConfig, if set, replaces the TLS settings (tests trust their own server with it).
	TLSConfig *tls.Config
	// Timeout bounds connecting and each command; default 15 s.
	Timeout time.Duration
}

// New configures a mailer from MFAPORTAL_SMTP_URL and MFAPORTAL_MAIL_FROM:
//
//	smtp://[user:password@]host[:port]   port 587 by default; STARTTLS, required when a user is given
//	smtps://[user:password@]host[:port]  port 465 by default; TLS from the start
//
// with ?tls=required, ?tls=opportunistic or ?tls=none to choose the STARTTLS policy of smtp://
// (none only without a user: a password is never sent in the clear). from is the sender's address,
// e.g. "IT Helpdesk <helpdesk@contoso.com>". The password is never shown in an error.
func New(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("MFAPORTAL_SMTP_URL is not a URL: expected smtp://user:password@host:587 or smtps://host:465")
	}
	s := &SMTP{host: u.Hostname(), from: strings.TrimSpace(from)}
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		s.port = gomail.DefaultPortTLS
	case "smtps":
		s.port, s.implicit = gomail.DefaultPortSSL, true
	default:
		return nil, fmt.Errorf("MFAPORTAL_SMTP_URL has the scheme %q: expected smtp:// (STARTTLS) or smtps:// (TLS)", u.Scheme)
	}
	if s.host == "" {
		return nil, fmt.Errorf("MFAPORTAL_SMTP_URL has no host: expected e.g. smtp://smtp.contoso.com:587")
	}
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil || s.port < 1 || s.port > 65535 {
			return nil, fmt.Errorf("MFAPORTAL_SMTP_URL has the port %q: expected 1 to 65535", p)
		}
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	s.policy = gomail.TLSOpportunistic
	if s.user != "" {
		s.policy = gomail.TLSMandatory
	}
	switch t := u.Query().Get("tls"); t {
	case "":
	case "required":
		s.policy = gomail.TLSMandatory
	case "opportunistic":
		s.policy = gomail.TLSOpportunistic
	case "none":
		s.policy = gomail.NoTLS
	default:
		return nil, fmt.Errorf("MFAPORTAL_SMTP_URL has tls=%q: expected required, opportunistic or none", t)
	}
	if s.user != "" && s.policy != gomail.TLSMandatory && !s.implicit {
		return nil, fmt.Errorf("MFAPORTAL_SMTP_URL names a user without tls=required: the password would travel unencrypted")
	}
	if s.from == "" {
		return nil, fmt.Errorf("MFAPORTAL_MAIL_FROM is not set: the sender's address, e.g. helpdesk@contoso.com")
	}
	if _, err := mail.ParseAddress(s.from); err != nil {
		return nil, fmt.Errorf("MFAPORTAL_MAIL_FROM %q is not an email address", s.from)
	}
	return s, nil
}

// String describes the server without its password, for the log.
func (s *SMTP) String() string {
	scheme := "smtp"
	if s.implicit {
		scheme = "smtps"
	}
	return fmt.Sprintf("%s://%s:%d", scheme, s.host, s.port)
}

func (s *SMTP) client() (*gomail.Client, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = gomail.DefaultTimeout
	}
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(timeout), gomail.WithTLSPolicy(s.policy)}
	if s.implicit {
		opts = append(opts, gomail.WithSSL())
	}
	if s.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.TLSConfig))
	}
	if s.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(s.user), gomail.WithPassword(s.password))
	}
	return gomail.NewClient(s.host, opts...)
}

// Send sends the messages over one connection; a message the server refuses is that message's
// error, and a server that cannot be reached fails them all.
func (s *SMTP) Send(ctx context.Context, msgs []mfa.Mail) []error {
	errs := make([]error, len(msgs))
	fail := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	c, err := s.client()
	if err != nil {
		return fail(fmt.Errorf("the mail server is misconfigured: %v", err))
	}
	if err := c.DialWithContext(ctx); err != nil {
		return fail(fmt.Errorf("the mail server %s could not be reached: %v", s, err))
	}
	defer c.Close()
	for i, m := range msgs {
		msg := gomail.NewMsg()
		if err := msg.From(s.from); err != nil {
			errs[i] = fmt.Errorf("the sender %q is not an address: %v", s.from, err)
			continue
		}
		if err := msg.To(m.To); err != nil {
			errs[i] = fmt.Errorf("%q is not an address: %v", m.To, err)
			continue
		}
		msg.Subject(m.Subject)
		msg.SetDate()
		msg.SetMessageID()
		msg.SetBodyString(gomail.TypeTextPlain, m.Body)
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			continue
		}
		if err := c.Send(msg); err != nil {
			errs[i] = fmt.Errorf("the mail server refused the message: %v", err)
		}
	}
	return errs
}
