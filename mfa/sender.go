package mfa

import "context"

// Channel is how a one-time code reaches a user.
type Channel string

// The channels of a code: a text message or a call to a phone, or the authenticator app (which
// makes the code itself).
const (
	ChannelSMS   Channel = "sms"
	ChannelVoice Channel = "voice"
	ChannelApp   Channel = "app"
)

// Message is a one-time code on its way to a phone.
type Message struct {
	To      string  `json:"to"` // E.164
	Channel Channel `json:"channel"`
	Text    string  `json:"message"`
}

// CodeSender delivers one-time codes to phones (SPEC §7: the `log` sender for evaluation, or a
// webhook to an SMS/voice gateway). Implementations never log the code except where delivering
// to the log is their job.
type CodeSender interface {
	Send(ctx context.Context, m Message) error
}
