package sender

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

func TestLogWritesTheOutbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	// A file left with a wide mode is narrowed on the next message.
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	l := &Log{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Path: path}
	for _, m := range []mfa.Message{{To: "+14255550100", Channel: mfa.ChannelSMS, Text: "code 123456"}, {To: "+442079460958", Channel: mfa.ChannelVoice, Text: "code 654321"}} {
		if err := l.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("outbox mode %v", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var last outboxLine
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &last) != nil || last.To != "+442079460958" || last.Channel != "voice" || last.Message != "code 654321" {
		t.Fatalf("outbox %q", b)
	}
	if !strings.Contains(logs.String(), "code 123456") {
		t.Fatalf("log %q", logs.String())
	}
}

func TestWebhookPostsJSON(t *testing.T) {
	var got map[string]string
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = nil
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &got) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	w := &Webhook{URL: srv.URL}
	if err := w.Send(context.Background(), mfa.Message{To: "+14255550100", Channel: mfa.ChannelSMS, Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["to"] != "+14255550100" || got["channel"] != "sms" || got["message"] != "hello" {
		t.Fatalf("body %v", got)
	}
	status = http.StatusInternalServerError
	if err := w.Send(context.Background(), mfa.Message{To: "+1", Channel: mfa.ChannelVoice, Text: "x"}); err == nil || strings.Contains(err.Error(), "x") && strings.Contains(err.Error(), "message") {
		t.Fatalf("a 500 from the gateway: %v", err)
	}
}
