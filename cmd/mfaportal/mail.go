package main

import (
	"flag"
	"log/slog"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/mailer"
)

// mailSettings configure the registration tab's notifications (SPEC §10).
type mailSettings struct {
	SMTPURL  string // MFAPORTAL_SMTP_URL only (it may hold a password): never a flag
	MailFrom string
	SetupURL string
}

func mailFlags(fs *flag.FlagSet, m *mailSettings) {
	fs.StringVar(&m.MailFrom, "mail-from", "", "sender of the registration emails, e.g. \"IT Helpdesk <helpdesk@contoso.com>\" (the server is MFAPORTAL_SMTP_URL)")
	fs.StringVar(&m.SetupURL, "setup-url", "", "the registration link sent to users (default: PUBLIC-URL/my on the embedded directory, https://aka.ms/MFASetup on Graph)")
}

// DefaultGraphSetupURL is where users of a Microsoft Entra tenant register their security info.
const DefaultGraphSetupURL = "https://aka.ms/MFASetup"

// useMail gives the service its mailer (when MFAPORTAL_SMTP_URL is set), the template store and the
// registration link.
func useMail(m mailSettings, publicURL string, graph bool, notices mfa.NotifyStore, svc *mfa.Service, log *slog.Logger) error {
	svc.Notices = notices
	svc.SetupURL = m.SetupURL
	if svc.SetupURL == "" {
		svc.SetupURL = publicURL + "/my"
		if graph {
			svc.SetupURL = DefaultGraphSetupURL
		}
	}
	if m.SMTPURL == "" {
		log.Info("no mail server (MFAPORTAL_SMTP_URL): the registration tab cannot notify users")
		return nil
	}
	mail, err := mailer.New(m.SMTPURL, m.MailFrom)
	if err != nil {
		return usageError{err.Error()}
	}
	svc.Mailer = mail
	log.Info("registration emails", "server", mail.String(), "from", m.MailFrom, "link", svc.SetupURL)
	return nil
}
