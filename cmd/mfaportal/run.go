package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graph"
	"github.com/mfaportal/mfaportal/web"
)

const usage = `mfaportal: per-user multi-factor authentication administration

Usage:
  mfaportal [serve] [flags]              start the portal (the default)
  mfaportal users import FILE            import users into the embedded directory
  mfaportal users export                 write every user as CSV to stdout
  mfaportal users setup-link UPN         a one-time link (72 h) with which the user sets their password (printed on the last line)
  mfaportal users get UPN                one user as the API's JSON
  mfaportal users set UPN --state S [--reason R] [--as ACCOUNT]
                                         enable, enforce or disable a user
  mfaportal users reset UPN [--contact-methods] [--app-passwords] [--remembered-devices] [--reason R] [--as ACCOUNT]
                                         manage user settings
  mfaportal accounts add NAME --role R   add a local account (password on stdin)
  mfaportal accounts passwd NAME         set a local account's password (on stdin)
  mfaportal accounts remove NAME         remove a local account
  mfaportal accounts reset-mfa NAME      remove a local account's authenticator app (a lost phone)
  mfaportal accounts list                list local accounts
  mfaportal tokens create --name N --role R   create an API token (printed once, on the last line)
  mfaportal tokens revoke NAME           revoke an API token
  mfaportal tokens list                  list API tokens (name, role, created, last used)
  mfaportal bulk verify FILE             check a bulk update file against the directory (exit 1 on errors)
  mfaportal bulk apply FILE [--yes]      apply a bulk update file
  mfaportal audit export                 write the audit log as CSV to stdout
  mfaportal audit verify [--against FILE]   check the audit log's chain, and against the stream file (exit 1 if tampered)
  mfaportal graph-emulator [--addr A] [--users N]   run a local Microsoft Graph emulator (tests, demos)
  mfaportal migrate --to URL             copy the data folder into an empty PostgreSQL database (postgres://…), checked

Every command takes --data DIR (default ./data). "mfaportal serve -h" lists the server's flags;
each flag can also be set as MFAPORTAL_<FLAG>, e.g. MFAPORTAL_ADDR.
`

// cli is one run of the command: its environment and streams.
type cli struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = c.serve(ctx, args)
	case "users":
		err = c.users(ctx, args)
	case "accounts":
		err = c.accounts(ctx, args)
	case "audit":
		err = c.audit(ctx, args)
	case "bulk":
		err = c.bulk(ctx, args)
	case "graph-emulator":
		err = c.graphEmulator(ctx, args)
	case "tokens":
		err = c.tokens(ctx, args)
	case "migrate":
		err = c.migrate(ctx, args)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	return c.exitCode(err)
}

// usageError is a wrong command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func (c *cli) exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(c.stderr, "%s\n\n%s", ue.msg, usage)
		return 2
	}
	if errors.Is(err, errFlagUsage) {
		return 2
	}
	fmt.Fprintf(c.stderr, "mfaportal: %s\n", mfa.ErrorMessage(err))
	if mfa.ErrorCode(err) == mfa.EINTERNAL {
		fmt.Fprintf(c.stderr, "detail: %v\n", err)
	}
	return 1
}

var errFlagUsage = errors.New("bad flags")

// listenError says in one line why serve cannot listen on addr ("cannot listen on
// 127.0.0.1:8080: address already in use"): a port in use or not allowed is the admin's to fix,
// not an internal error with its detail.
func listenError(addr string, err error) error {
	cause := err
	var se *os.SyscallError
	var oe *net.OpError
	switch {
	case errors.As(err, &se):
		cause = se.Err
	case errors.As(err, &oe):
		cause = oe.Err
	}
	return mfa.Errorf(mfa.EUNAVAILABLE, "cannot listen on %s: %v", addr, cause)
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: expected debug, info, warn or error", level)
	}
	return slog.New(web.LogHandler{Handler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})}), nil
}

func (c *cli) serve(ctx context.Context, args []string) error {
	var cfg config
	fs := newFlagSet("serve", c.stderr)
	serveFlags(fs, &cfg)
	rest, err := parseFlags(fs, args, c.getenv)
	if err != nil {
		return errFlagUsage
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, found %q", rest[0])}
	}
	cfg.AdminPassword = c.getenv("MFAPORTAL_ADMIN_PASSWORD")
	cfg.OIDC.ClientSecret = c.getenv("MFAPORTAL_OIDC_CLIENT_SECRET")
	cfg.Graph.ClientSecret = c.getenv("MFAPORTAL_GRAPH_CLIENT_SECRET")
	cfg.Mail.SMTPURL = c.getenv("MFAPORTAL_SMTP_URL")
	if err := cfg.validate(); err != nil {
		return usageError{err.Error()}
	}
	oidcCfg, err := cfg.OIDC.webConfig(cfg.PublicURL)
	if err != nil {
		return usageError{err.Error()}
	}
	log, err := newLogger(c.stderr, cfg.LogLevel)
	if err != nil {
		return usageError{err.Error()}
	}
	// The address first: a port in use stops serve before it changes anything (a new data
	// folder's demo tenant and first account, shown once, would be made for nothing). Requests
	// arriving meanwhile wait in the listen queue until the server serves.
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return listenError(cfg.Addr, err)
	}
	defer l.Close() // on the way out before serving; the server closes it once it serves
	db, err := c.openStore(ctx, cfg.Data)
	if err != nil {
		return err
	}
	defer db.Close()
	deps := storeDeps(db)
	ready := db.Ping
	// Remember which directory this data folder belongs to, for the commands that change users.
	if err := db.SetMeta(ctx, "directory", cfg.Graph.Directory); err != nil {
		return err
	}
	var graphDir *graph.Directory
	if cfg.Graph.Directory == "graph" {
		if graphDir, err = useGraph(cfg.Graph, db, &deps, log); err != nil {
			return err
		}
		defer graphDir.Close()
		ready = graphDir.Ping
	}
	svc := newServiceWith(db, deps)
	svc.RequireReason = cfg.RequireReason
	svc.RequireAdminMFA = cfg.RequireAdminMFA
	svc.BulkPlanTTL = cfg.BulkPlanTTL
	notices, _ := db.(mfa.NotifyStore)
	if err := useMail(cfg.Mail, cfg.PublicURL, graphDir != nil, notices, svc, log); err != nil {
		return err
	}

	// Replicas starting together on an empty database seed it and create the first account one
	// after the other: the second finds it done.
	err = setUpOnce(ctx, db, cfg.LeaseTTL, log, func(ctx context.Context) error {
		if cfg.Demo && graphDir == nil {
			if err := seedDemo(ctx, db, cfg.DemoUsers, log); err != nil {
				return err
			}
		}
		if !cfg.OIDC.LocalAccounts {
			return nil
		}
		generated, err := svc.EnsureAdmin(ctx, cfg.AdminPassword)
		if err == nil && generated != "" {
			// Printed once, to the terminal only (never to the log): SPEC §6.
			fmt.Fprintf(c.stdout, "Created the local account %q (global-admin). Its password, shown only this once:\n%s\n", mfa.AdminAccount, generated)
		}
		return err
	})
	if err != nil {
		return err
	}
	key, err := sessionKey(ctx, cfg, db, c.databaseURL() != "")
	if err != nil {
		return err
	}
	// The users' security info (SPEC §7) exists on the embedded directory only: on Graph, users
	// register with Microsoft.
	var self *mfa.SelfService
	if graphDir == nil {
		if self, err = newSelfService(db, cfg, log); err != nil {
			return err
		}
	}
	srv, err := web.New(web.Config{Addr: cfg.Addr, PublicURL: cfg.PublicURL, SessionKey: key,
		SessionIdle: cfg.SessionIdle, SessionMaxAge: cfg.SessionMaxAge,
		CSVLimits:       mfa.CSVLimits{MaxBytes: cfg.BulkMaxBytes, MaxRows: cfg.BulkMaxRows},
		OIDC:            oidcCfg,
		NoLocalAccounts: !cfg.OIDC.LocalAccounts,
		TrustedProxies:  cfg.trustedProxies,
		MetricsToken:    c.getenv("MFAPORTAL_METRICS_TOKEN"), // a variable only, never a flag (ps)
		Self:            self,
	}, svc, db, ready, log)
	if err != nil {
		return err
	}
	log.Info("mfaportal listening", "addr", l.Addr().String(), "url", cfg.PublicURL, "data", cfg.Data, "directory", cfg.Graph.Directory)
	fmt.Fprintf(c.stdout, "mfaportal is running at %s (press Ctrl+C to stop)\n", cfg.PublicURL)
	background := startLeasedWork(ctx, cfg, db, svc, graphDir, srv.LeaseHeld, log)
	// The audit stream stops last, after the records of draining requests and of the runner.
	streamCtx, stopStream := context.WithCancel(context.WithoutCancel(ctx))
	streamHolder := &mfa.LeaseHolder{Store: db, Name: "audit-stream", Holder: replicaName(), TTL: cfg.LeaseTTL,
		OnError: func(msg string, err error) { log.Error(msg, "err", err) },
		OnHold:  func(on bool) { srv.LeaseHeld("audit-stream", on) }}
	streamDone := startAuditStream(streamCtx, cfg, db, streamHolder, log)
	err = srv.Serve(ctx, l)
	background.Wait()
	stopStream()
	if streamDone != nil {
		<-streamDone
	}
	return err
}

// seedDemo seeds the demo tenant once, into an empty directory only.
func seedDemo(ctx context.Context, db store, n int, log *slog.Logger) error {
	if done, err := db.Meta(ctx, "demo_seeded"); err != nil || done != "" {
		return err
	}
	if count, err := db.CountUsers(ctx); err != nil || count > 0 {
		return err
	}
	start := time.Now()
	log.Info("seeding the demo tenant", "users", n)
	now := time.Now()
	_, err := db.SeedUsers(ctx, mfa.DemoTenant(n, now), now, func(done int) {
		if n >= 100000 && done%100000 == 0 {
			log.Info("seeding the demo tenant", "done", done, "of", n)
		}
	})
	if err != nil {
		return err
	}
	log.Info("seeded the demo tenant", "users", n, "seconds", time.Since(start).Seconds())
	return db.SetMeta(ctx, "demo_seeded", time.Now().UTC().Format(time.RFC3339))
}

// sessionKey is MFAPORTAL_SESSION_KEY, or a key generated once into the data folder (mode 0600),
// or into the database when the state is kept in PostgreSQL.
func sessionKey(ctx context.Context, cfg config, db store, inDatabase bool) ([]byte, error) {
	if cfg.SessionKey != "" {
		k, err := decodeKey(cfg.SessionKey)
		if err != nil {
			return nil, fmt.Errorf("MFAPORTAL_SESSION_KEY: %v", err)
		}
		return k, nil
	}
	k := make([]byte, 64)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if inDatabase {
		// Replicas share the database, so they share one key: the first to start stores it.
		stored, err := db.InitMeta(ctx, "session_key", fmt.Sprintf("%x", k))
		if err != nil {
			return nil, err
		}
		return decodeKey(stored)
	}
	path := filepath.Join(cfg.Data, "session.key")
	if b, err := os.ReadFile(path); err == nil {
		k, err := decodeKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(fmt.Sprintf("%x\n", k)), 0o600); err != nil {
		return nil, err
	}
	return k, nil
}

// readPassword reads a password from the first line of stdin.
func (c *cli) readPassword() (string, error) {
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", mfa.Errorf(mfa.EINVALID, "no password on standard input: pipe it in, e.g. `printf '%%s\\n' \"$PW\" | mfaportal accounts add NAME --role reader`")
	}
	return pw, nil
}
