package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa/sqlite"
)

// syncBuffer is a buffer written by one goroutine and read by another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// graph-emulator prints its URL and writes its certificate; the portal, trusting that certificate
// through MFAPORTAL_GRAPH_CA_FILE, syncs the emulated tenant.
func TestGraphEmulatorCommand(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"graph-emulator", "--addr", "127.0.0.1:0", "--users", "25", "--data", data},
			func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "certificate:") {
		if time.Now().After(deadline) {
			t.Fatalf("no start message: %q %q", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	base := regexp.MustCompile(`https://127\.0\.0\.1:\d+`).FindString(out.String())
	caFile := filepath.Join(data, "graph-emulator-ca.pem")
	if pem, err := os.ReadFile(caFile); err != nil || !bytes.Contains(pem, []byte("BEGIN CERTIFICATE")) || base == "" {
		t.Fatalf("base %q, certificate %v:\n%s", base, err, out.String())
	}

	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deps := storeDeps(db)
	g := graphSettings{Directory: "graph", TenantID: "contoso.onmicrosoft.com", ClientID: "cli-test", ClientSecret: "any",
		BaseURL: base + "/v1.0", AuthorityURL: base, CAFile: caFile, SyncInterval: time.Hour}
	dir, err := useGraph(g, db, &deps, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	if err := dir.Sync(context.Background()); err != nil {
		t.Fatalf("sync through the CA file: %v", err)
	}
	if n, _ := db.CountUsers(context.Background()); n != 25 || deps.Directory != dir || deps.Importer != nil {
		t.Fatalf("%d users indexed", n)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

func TestGraphSettingsRefused(t *testing.T) {
	for env, want := range map[string]string{
		"MFAPORTAL_DIRECTORY=ldap":  "expected embedded or graph",
		"MFAPORTAL_DIRECTORY=graph": "MFAPORTAL_GRAPH_TENANT_ID",
	} {
		k, v, _ := strings.Cut(env, "=")
		var out, errb bytes.Buffer
		getenv := func(name string) string {
			if name == k {
				return v
			}
			return ""
		}
		code := run(context.Background(), []string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, getenv, strings.NewReader(""), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), want) {
			t.Errorf("%s: exit %d, %q", env, code, errb.String())
		}
	}
}
