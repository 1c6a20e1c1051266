// Package sender delivers one-time codes to phones (mfa.CodeSender): Log, for evaluation, writes
// them to the portal's log and to an outbox file; Webhook posts them to an SMS/voice gateway.
package sender

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

var (
	_ mfa.CodeSender = (*Log)(nil)
	_ mfa.CodeSender = (*Webhook)(nil)
)

// Log is the evaluation sender (SPEC §7): it delivers each message to the portal's log and appends
// it as a JSON line to an outbox file (mode 0600), where a person or a test reads the code. Not
// for production: anyone who can read the log or the file can read the codes.
type Log struct {
	Logger *slog.Logger
	Path   string // the outbox file, e.g. DATA/outbox.jsonl
	Now    func() time.Time

	mu sync.Mutex
}

// outboxLine is one message in the outbox file.
type outboxLine struct {
	Time    time.Time   `json:"time"`
	To      string      `json:"to"`
	Channel mfa.Channel `json:"channel"`
	Message string      `json:"message"`
}

// Send logs the message and appends it to the outbox.
func (l *Log) Send(ctx context.Context, m mfa.Message) error {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	line, err := json.Marshal(outboxLine{Time: now().UTC(), To: m.To, Channel: m.Channel, Message: m.Text})
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.OpenFile(l.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	// A file made earlier with a wider mode is narrowed: it holds codes.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if l.Logger != nil {
		l.Logger.InfoContext(ctx, "outbox (evaluation sender): message delivered to the log", "to", m.To, "channel", m.Channel, "message", m.Text)
	}
	return nil
}

// Webhook posts each message as JSON, {"to", "channel": "sms"|"voice", "message"}, to a gateway's
// URL; any answer but 2xx is a failure.
type Webhook struct {
	URL    string
	Client *http.Client // nil: a client with a 10-second timeout
}

// Send posts the message.
func (w *Webhook) Send(ctx context.Context, m mfa.Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("SMS webhook: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("SMS webhook answered %s", resp.Status)
	}
	return nil
}
