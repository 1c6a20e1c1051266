package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/sender"
)

// smsSettings choose how one-time codes reach phones (SPEC §7).
type smsSettings struct {
	Sender     string // "log" (the default: the log and DATA/outbox.jsonl, for evaluation) or "webhook"
	WebhookURL string
}

func smsFlags(fs *flag.FlagSet, s *smsSettings) {
	fs.StringVar(&s.Sender, "sms-sender", "", "how codes reach phones: log (the log and DATA/outbox.jsonl, for evaluation) or webhook (default: webhook when --sms-webhook-url is set, else log)")
	fs.StringVar(&s.WebhookURL, "sms-webhook-url", "", `an SMS/voice gateway's URL: each code is POSTed as {"to","channel":"sms"|"voice","message"}`)
}

func (s *smsSettings) validate() error {
	if s.Sender == "" {
		s.Sender = "log"
		if s.WebhookURL != "" {
			s.Sender = "webhook"
		}
	}
	switch s.Sender {
	case "log":
		if s.WebhookURL != "" {
			return errors.New("--sms-webhook-url is set but --sms-sender is log: choose one")
		}
		return nil
	case "webhook":
		u, err := url.Parse(s.WebhookURL)
		if s.WebhookURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("--sms-webhook-url %q: the webhook sender needs an http:// or https:// URL", s.WebhookURL)
		}
		return nil
	}
	return fmt.Errorf("--sms-sender %q: expected log or webhook", s.Sender)
}

// newSelfService is the users' security info on the embedded directory (in the data folder or in
// PostgreSQL), with the configured sender of codes.
func newSelfService(db store, cfg config, log *slog.Logger) (*mfa.SelfService, error) {
	var send mfa.CodeSender = &sender.Log{Logger: log, Path: filepath.Join(cfg.Data, "outbox.jsonl")}
	if cfg.SMS.Sender == "webhook" {
		send = &sender.Webhook{URL: cfg.SMS.WebhookURL}
	}
	return mfa.NewSelfService(mfa.SelfService{Directory: db, Settings: db, Store: db, Sender: send, PublicURL: cfg.PublicURL,
		SessionIdle: cfg.SessionIdle, SessionMaxAge: cfg.SessionMaxAge, Now: time.Now,
		OnError: func(msg string, err error) { log.Warn(msg, "err", err) }})
}

// setupLink is `users setup-link UPN`: a one-time link with which the user sets their password,
// printed alone on the last line.
func (c *cli) setupLink(ctx context.Context, cfg config, publicURL string, rest []string) error {
	if len(rest) != 1 {
		return usageError{"users setup-link: expected exactly one UPN"}
	}
	if publicURL == "" {
		publicURL = "http://127.0.0.1:8080"
	}
	if !strings.HasPrefix(publicURL, "http://") && !strings.HasPrefix(publicURL, "https://") {
		return usageError{fmt.Sprintf("--public-url %q: expected an http:// or https:// URL", publicURL)}
	}
	db, err := c.openStore(ctx, cfg.Data)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := refuseGraphFolder(ctx, db, "users setup-link"); err != nil {
		return err
	}
	self, err := mfa.NewSelfService(mfa.SelfService{Directory: db, Settings: db, Store: db, Sender: &sender.Log{},
		PublicURL: strings.TrimRight(publicURL, "/"), Now: time.Now})
	if err != nil {
		return err
	}
	link, err := self.CreateSetupLink(ctx, mfa.CLIActor, rest[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Setup link for %s, valid until %s. It works once; any earlier link of this user no longer works:\n%s\n",
		link.UPN, link.Expires.Format(time.RFC3339), link.URL)
	return nil
}
