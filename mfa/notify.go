package mfa

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// Notify (SPEC §10): each selected user awaiting registration gets an email with their registration
// link, from the template admins edit on the registration tab; every message sent is audited
// (user.notify); a message that cannot be sent is that user's result and changes nothing.

// Mail is one message to send: plain text.
type Mail struct {
	To      string
	Subject string
	Body    string
}

// Mailer sends mail through the organisation's SMTP server (package mfa/mailer).
type Mailer interface {
	// Send sends the messages, over one connection where it can, and answers one error per message
	// (nil when the server accepted it). A server that cannot be reached fails every message.
	Send(ctx context.Context, msgs []Mail) []error
}

// NotifyTemplate is the email sent to users awaiting registration. Its placeholders are replaced
// for each user: {displayName}, {userName}, {link} (the registration link) and {days} (since when
// the user is Enabled).
type NotifyTemplate struct {
	Subject string
	Body    string
	Version int64 // 0: the default, never saved
}

// DefaultNotifyTemplate is the template until an admin saves one.
var DefaultNotifyTemplate = NotifyTemplate{
	Subject: "Set up multi-factor authentication for {userName}",
	Body: "Hello {displayName},\n\n" +
		"Your organization requires multi-factor authentication for your account {userName}. " +
		"You were enabled {days} days ago and have not set up your security info yet.\n\n" +
		"Set it up now, it takes a few minutes:\n{link}\n\n" +
		"You will also be asked to do it at your next sign-in.\n",
}

// notifyPlaceholders are the placeholders a template may use.
var notifyPlaceholders = []string{"{displayName}", "{userName}", "{link}", "{days}"}

// Limits of a template.
const (
	MaxNotifySubject = 200
	MaxNotifyBody    = 10000
)

// Validate checks a template: a subject of one line, a body that holds the link, known
// placeholders only. The field at fault is "subject" or "body".
func (t *NotifyTemplate) Validate() error {
	t.Subject = strings.TrimSpace(t.Subject)
	t.Body = strings.TrimSpace(strings.ReplaceAll(t.Body, "\r\n", "\n")) + "\n"
	switch n := len([]rune(t.Subject)); {
	case n == 0:
		return FieldErrorf("subject", "the subject is empty")
	case n > MaxNotifySubject:
		return FieldErrorf("subject", "the subject is %d characters long: at most %d allowed", n, MaxNotifySubject)
	case strings.ContainsAny(t.Subject, "\r\n"):
		return FieldErrorf("subject", "the subject must be one line")
	}
	if n := len([]rune(t.Body)); n > MaxNotifyBody {
		return FieldErrorf("body", "the message is %d characters long: at most %d allowed", n, MaxNotifyBody)
	}
	if !strings.Contains(t.Body, "{link}") {
		return FieldErrorf("body", "the message must contain {link}: the user's registration link")
	}
	for _, field := range []struct{ name, text string }{{"subject", t.Subject}, {"body", t.Body}} {
		rest := field.text
		for {
			i := strings.IndexByte(rest, '{')
			if i < 0 {
				break
			}
			j := strings.IndexByte(rest[i:], '}')
			if j < 0 {
				break
			}
			ph := rest[i : i+j+1]
			if !isPlaceholder(ph) && !strings.ContainsAny(ph[1:], "{ \n") {
				return FieldErrorf(field.name, "unknown placeholder %s: use %s", truncate(ph, 40), strings.Join(notifyPlaceholders, ", "))
			}
			rest = rest[i+1:]
		}
	}
	return nil
}

func isPlaceholder(s string) bool {
	for _, p := range notifyPlaceholders {
		if s == p {
			return true
		}
	}
	return false
}

// Render is the message for one user: the placeholders replaced, the subject kept to one line.
func (t NotifyTemplate) Render(u *User, link string, now time.Time) Mail {
	r := strings.NewReplacer("{displayName}", u.DisplayName, "{userName}", u.UPN, "{link}", link,
		"{days}", strconv.Itoa(DaysSince(u.EnabledAt, now)))
	subject := strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return ' '
		}
		return c
	}, r.Replace(t.Subject))
	return Mail{To: u.UPN, Subject: subject, Body: r.Replace(t.Body)}
}

// NotifyStore keeps the template.
type NotifyStore interface {
	// NotifyTemplate returns the saved template, or DefaultNotifyTemplate if none was saved.
	NotifyTemplate(ctx context.Context) (NotifyTemplate, error)
	// SaveNotifyTemplate stores t if the saved version is still t.Version (ECONFLICT otherwise),
	// with its audit record, atomically; it answers the new version.
	SaveNotifyTemplate(ctx context.Context, t NotifyTemplate, rec *AuditRecord) (int64, error)
}

// NotifyTemplate returns the template in use; any role may read it.
func (s *Service) NotifyTemplate(ctx context.Context, actor Actor) (NotifyTemplate, error) {
	if err := actor.Require(PermView); err != nil {
		return NotifyTemplate{}, err
	}
	if s.Notices == nil {
		return DefaultNotifyTemplate, nil
	}
	return s.Notices.NotifyTemplate(ctx)
}

// SaveNotifyTemplate validates and stores the template: for the roles that may run a bulk update.
func (s *Service) SaveNotifyTemplate(ctx context.Context, actor Actor, t NotifyTemplate) (NotifyTemplate, error) {
	if err := actor.Require(PermBulkUpdate); err != nil {
		return t, err
	}
	if err := t.Validate(); err != nil {
		return t, err
	}
	if s.Notices == nil {
		return t, Errorf(EUNAVAILABLE, "the template cannot be saved here")
	}
	old, err := s.Notices.NotifyTemplate(ctx)
	if err != nil {
		return t, err
	}
	rec := NewAuditRecord(actor, SourcePage, "", s.now())
	rec.Action, rec.Target = AuditNotifyTemplate, "notify template"
	rec.Before, rec.After = truncate(old.Subject+"\n"+old.Body, 2000), truncate(t.Subject+"\n"+t.Body, 2000)
	v, err := s.Notices.SaveNotifyTemplate(ctx, t, &rec)
	t.Version = v
	return t, err
}

// RegistrationLink is the link users register at: the setup URL the portal was given.
func (s *Service) RegistrationLink() string { return s.SetupURL }

// NotifyReady answers nil when notify can send, or EUNAVAILABLE saying why not.
func (s *Service) NotifyReady() error {
	if s.Mailer == nil {
		return Errorf(EUNAVAILABLE, "no mail server is configured (MFAPORTAL_SMTP_URL and MFAPORTAL_MAIL_FROM)")
	}
	if s.SetupURL == "" {
		return Errorf(EUNAVAILABLE, "no registration link is configured (MFAPORTAL_SETUP_URL)")
	}
	return nil
}

// MaxNotifyUsers is the most users one notify sends to.
const MaxNotifyUsers = 1000

// NotifyUsers sends each of the users named, who must be awaiting registration, the template's
// email with their registration link, and records each message sent (user.notify). Per user: sent
// (OutcomeChanged), not sent because they are not awaiting registration (OutcomeUnchanged), refused
// (role), not found, or failed (the mail server's answer). No SMTP configured: EUNAVAILABLE and
// nothing sent. Notifying is for the roles that may manage user settings, on the users they may.
func (s *Service) NotifyUsers(ctx context.Context, actor Actor, upns []string, source string) ([]UserResult, error) {
	if err := actor.Require(PermManageSettings); err != nil {
		return nil, err
	}
	if err := s.NotifyReady(); err != nil {
		// Said after a click on notify; the tab itself says only why notify is not offered.
		return nil, Errorf(EUNAVAILABLE, "%s: nothing was sent", ErrorMessage(err))
	}
	if len(upns) > MaxNotifyUsers {
		return nil, Errorf(EINVALID, "%d users selected: notify sends to at most %d at once", len(upns), MaxNotifyUsers)
	}
	tmpl, err := s.NotifyTemplate(ctx, actor)
	if err != nil {
		return nil, err
	}
	users, err := s.GetUsers(ctx, actor, upns)
	if err != nil {
		return nil, err
	}
	found := make(map[string]*User, len(users))
	for _, u := range users {
		found[NormalizeUPN(u.UPN)] = u
	}
	now := s.now()
	results := make([]UserResult, len(upns))
	var msgs []Mail
	var sending []int // index in results of each message
	for i, upn := range upns {
		r := &results[i]
		r.UPN = upn
		u := found[NormalizeUPN(upn)]
		switch {
		case u == nil:
			r.Outcome, r.Message = OutcomeNotFound, fmt.Sprintf("no user %q in the directory", truncate(upn, 100))
			continue
		case !actor.Role.CanOn(PermManageSettings, u.Privileged):
			r.Outcome, r.Message = OutcomeRefused, fmt.Sprintf("your role (%s) may not notify %s, who holds an admin role", actor.Role, u.UPN)
		case u.State != StateEnabled:
			r.Outcome, r.Message = OutcomeUnchanged, "not sent: the user is "+u.State.Label()+", not Enabled"
		case u.Registered():
			r.Outcome, r.Message = OutcomeUnchanged, "not sent: the user has completed registration"
		default:
			addr, err := mail.ParseAddress(u.UPN)
			if err != nil {
				r.Outcome, r.Message = OutcomeError, "not sent: the user name is not an email address"
				break
			}
			m := tmpl.Render(u, s.SetupURL, now)
			m.To = addr.Address
			msgs, sending = append(msgs, m), append(sending, i)
		}
		r.UPN, r.DisplayName, r.Before, r.After = u.UPN, u.DisplayName, u.State, u.State
	}
	if len(msgs) == 0 {
		return results, nil
	}
	errs := s.Mailer.Send(ctx, msgs)
	for k, i := range sending {
		r := &results[i]
		if k < len(errs) && errs[k] != nil {
			r.Outcome, r.Message = OutcomeError, "not sent: "+mailError(errs[k])
			continue
		}
		r.Outcome, r.Message = OutcomeChanged, "registration email sent to "+msgs[k].To
		rec := NewAuditRecord(actor, source, "", s.now())
		rec.Action, rec.Target, rec.Before, rec.After = AuditNotify, r.UPN, r.Before.Label(), "registration email sent to "+msgs[k].To
		if err := s.Audit.AppendAudit(ctx, &rec); err != nil {
			return results, err
		}
	}
	return results, nil
}

// mailError is a send failure as the admin reads it (the mail server's answer is the message).
func mailError(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return truncate(strings.TrimSpace(err.Error()), 300)
}
