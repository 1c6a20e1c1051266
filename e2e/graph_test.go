package e2e

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graph"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
	"github.com/mfaportal/mfaportal/web"
)

// graphUsers is the size of the emulated tenant: two pages of the users list.
const graphUsers = 150

// startGraphPortal boots the portal on the Microsoft Graph backend, against the Graph emulator over
// TLS, with the index synced once, and returns its base URL and the emulator.
func startGraphPortal(t *testing.T) (string, *graphemu.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	emu := graphemu.New(graphemu.Options{Users: graphUsers,
		Credentials: graphemu.Credentials{TenantID: "contoso.onmicrosoft.com", ClientID: "e2e-client", ClientSecret: "e2e-secret"}})
	gbase, stop, err := emu.StartTLS("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, err := graph.New(graph.Config{TenantID: "contoso.onmicrosoft.com", ClientID: "e2e-client", ClientSecret: "e2e-secret",
		BaseURL: gbase, AuthorityURL: gbase, HTTPClient: emu.Client(), SyncInterval: -1}, db, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	svc := mfa.MustNewService(mfa.Deps{Directory: dir, Accounts: db, Tokens: db, Audit: db, Settings: dir, Jobs: db, Registrations: db})
	if _, err := svc.EnsureAdmin(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{SessionKey: make([]byte, 64)}, svc, db, dir.Ping, log)
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	done, runnerDone := make(chan struct{}), make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	runner := mfa.NewBulkRunner(svc, func(msg string, err error) { t.Errorf("%s: %v", msg, err) })
	go func() { runner.Run(ctx); close(runnerDone) }()
	syncDone := make(chan struct{})
	go func() { dir.Run(ctx); close(syncDone) }() // the replica that syncs: sync now reaches it
	t.Cleanup(func() {
		cancel()
		<-done
		<-runnerDone
		<-syncDone
		dir.Close()
		db.Close()
		emu.Client().CloseIdleConnections()
		stop()
	})
	return "http://" + l.Addr().String(), emu
}

func TestGraphBackendInBrowser(t *testing.T) {
	base, emu := startGraphPortal(t)
	ctx := signInAsAdmin(t, base)

	// The users page lists the tenant's users from the index, says when it was read, offers sync now.
	run(t, ctx, "all users", chromedp.Navigate(base+"/users?view=all"), chromedp.WaitVisible("#sync", chromedp.ByID))
	if n := summaryCount(t, ctx); n != graphUsers {
		t.Fatalf("the page lists %d users, the tenant has %d", n, graphUsers)
	}
	if s := text(t, ctx, "[data-testid=last-read]"); !strings.Contains(s, "last read in full") || strings.Contains(s, "never") {
		t.Fatalf("last read: %q", s)
	}
	before := emu.Stats().BatchSteps
	run(t, ctx, "sync now",
		chromedp.Click(`//button[normalize-space()="sync now"]`, chromedp.BySearch),
		chromedp.WaitVisible(".notice", chromedp.ByQuery))
	deadline := time.Now().Add(20 * time.Second)
	for emu.Stats().BatchSteps < before+graphUsers { // each user's state read once, in $batch steps
		if time.Now().After(deadline) {
			t.Fatal("sync now did not read the tenant")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A quick step: Enable changes the state in Graph.
	var target graphemu.User
	for _, id := range emu.UserIDs() {
		if u, _ := emu.User(id); u.State == mfa.StateDisabled && len(u.Methods) == 0 && u.AccountEnabled {
			target = u
			break
		}
	}
	if target.ID == "" {
		t.Fatal("no disabled user without methods in the tenant")
	}
	run(t, ctx, "find the user",
		chromedp.Navigate(base+"/users?view=all&q="+target.UPN),
		chromedp.WaitVisible("#selection", chromedp.ByID),
		selectRow(target.UPN),
		chromedp.Click(`aside.quick button[data-step=enable]`, chromedp.ByQuery),
		chromedp.WaitVisible("#step-dialog", chromedp.ByID),
		chromedp.Click(`//dialog//button[normalize-space()="enable multi-factor auth"]`, chromedp.BySearch),
		chromedp.WaitVisible("#result-dialog", chromedp.ByID))
	if title := text(t, ctx, "#result-title"); title != "Updates successful" {
		t.Fatalf("result %q", title)
	}
	if st, _ := emu.UserState(target.ID); st != mfa.StateEnabled {
		t.Fatalf("Graph has %s after Enable", st)
	}
	run(t, ctx, "close", chromedp.Click(`//dialog//a[normalize-space()="close"]`, chromedp.BySearch),
		chromedp.WaitNotPresent("#result-dialog", chromedp.ByID))
	if s := stateOf(t, ctx, target.UPN); s != "Enabled" {
		t.Fatalf("the table shows %s", s)
	}

	// Manage user settings: the options Graph cannot apply are shown disabled with the reason.
	run(t, ctx, "manage",
		clearSelection(), selectRow(target.UPN),
		chromedp.Click(`aside.quick button[data-step=manage]`, chromedp.ByQuery),
		chromedp.WaitVisible("#step-dialog", chromedp.ByID))
	var disabled []bool
	run(t, ctx, "options", chromedp.Evaluate(`["contactMethods","appPasswords","rememberedDevices"].map(n => document.querySelector("input[name="+n+"]").disabled)`, &disabled))
	if len(disabled) != 3 || disabled[0] || !disabled[1] || !disabled[2] {
		t.Fatalf("disabled options: %v", disabled)
	}
	if r := text(t, ctx, "[data-testid=unavailable-appPasswords]"); !strings.Contains(r, "Microsoft Graph has no API") {
		t.Fatalf("reason %q", r)
	}

	// Service settings: app passwords, trusted ips and remember read-only with the reason;
	// verification options editable, saved to the authentication methods policy.
	run(t, ctx, "settings", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible("form.settings", chromedp.ByQuery))
	reasons := texts(t, ctx, "[data-testid=unavailable]")
	if len(reasons) != 3 {
		t.Fatalf("%d read-only sections, want 3: %q", len(reasons), reasons)
	}
	for _, r := range reasons {
		if !strings.Contains(r, "Microsoft Graph has no API") {
			t.Errorf("reason %q", r)
		}
	}
	var states []bool
	run(t, ctx, "controls", chromedp.Evaluate(`["appPasswords","skipForRanges","rememberMfa","sms"].map(n => document.querySelector("input[name="+n+"]").matches(":disabled"))`, &states))
	if len(states) != 4 || !states[0] || !states[1] || !states[2] || states[3] {
		t.Fatalf("disabled controls (app passwords, ranges, remember, sms): %v", states)
	}
	run(t, ctx, "turn off text message",
		chromedp.Click(`input[name=sms]`, chromedp.ByQuery),
		chromedp.Click(`//button[normalize-space()="save"]`, chromedp.BySearch),
		chromedp.WaitVisible(".notice.ok", chromedp.ByQuery))
	if s, _ := emu.MethodConfigurationState("Sms"); s != "disabled" {
		t.Fatalf("Sms is %s in Graph after save", s)
	}
	run(t, ctx, "reload settings", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible("form.settings", chromedp.ByQuery))
	if checked(t, ctx, "input[name=sms]") || !checked(t, ctx, "input[name=call]") {
		t.Fatal("the verification options after reload are not Graph's")
	}
}
