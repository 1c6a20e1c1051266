package web

import (
	"context"
	"regexp"
	"sync"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// sentCodes is a code sender that keeps what it sent, for the tests to read the codes.
type sentCodes struct {
	mu   sync.Mutex
	msgs []mfa.Message
}

func (s *sentCodes) Send(_ context.Context, m mfa.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	return nil
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// last is the code of the last message to a number.
func (s *sentCodes) last(t *testing.T, to string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.msgs) - 1; i >= 0; i-- {
		if s.msgs[i].To == to {
			return sixDigits.FindString(s.msgs[i].Text)
		}
	}
	t.Fatalf("no code sent to %s", to)
	return ""
}
