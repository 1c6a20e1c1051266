package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mfaportal/mfaportal/mfa/auditsink"
	"github.com/mfaportal/mfaportal/web"
)

// config is every setting of the portal, with its defaults. Each flag can also be set by an
// environment variable MFAPORTAL_<FLAG> (upper case, - as _); a flag on the command line wins.
type config struct {
	Addr          string
	Data          string
	PublicURL     string
	Demo          bool
	DemoUsers     int
	SessionKey    string
	SessionIdle   time.Duration
	SessionMaxAge time.Duration
	LogLevel      string
	RequireReason bool
	// RequireAdminMFA makes every local account enrol an authenticator app at its next sign-in.
	RequireAdminMFA bool
	BulkMaxBytes    int64
	BulkMaxRows     int
	BulkPlanTTL     time.Duration
	// LeaseTTL is how long a replica's lease on the bulk runner, the chores or the Graph sync lasts
	// unrenewed: another replica takes over within it and a third of it after that one dies.
	LeaseTTL time.Duration
	// AuditFile and AuditSyslog receive the audit log's records as they are written.
	AuditFile   string
	AuditSyslog string
	// TrustedProxies are the reverse proxies' CIDRs whose X-Forwarded-For or Forwarded is believed.
	TrustedProxies string
	trustedProxies web.TrustedProxies // parsed by validate
	AdminPassword  string             // MFAPORTAL_ADMIN_PASSWORD only: never a flag, so it stays out of `ps`
	OIDC           oidcSettings
	Graph          graphSettings
	Mail           mailSettings
	SMS            smsSettings // how one-time codes reach phones (security info, embedded directory)
}

// envName is the environment variable of a flag: data-dir → MFAPORTAL_DATA_DIR.
func envName(flagName string) string {
	return "MFAPORTAL_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newFlagSet makes a flag set that writes usage to stderr and does not exit.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags applies environment variables, then the command line, which may mix flags and
// positional arguments ("users import FILE --data DIR"). It returns the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func dataFlag(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.Data, "data", "./data", "data folder (the embedded directory, sessions, keys)")
}

func serveFlags(fs *flag.FlagSet, c *config) {
	dataFlag(fs, c)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.PublicURL, "public-url", "", "URL users reach the portal at (default http://ADDR); https makes cookies Secure")
	fs.BoolVar(&c.Demo, "demo", true, "seed the demo tenant into an empty directory")
	fs.IntVar(&c.DemoUsers, "demo-users", 300, "size of the demo tenant")
	fs.StringVar(&c.SessionKey, "session-key", "", "64-byte session key, hex or base64 (default: generated once into the data folder)")
	fs.DurationVar(&c.SessionIdle, "session-idle", time.Hour, "sign out after this long without activity")
	fs.DurationVar(&c.SessionMaxAge, "session-max-age", 12*time.Hour, "sign out this long after sign-in")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.Int64Var(&c.BulkMaxBytes, "bulk-max-bytes", 50<<20, "largest bulk update file, in bytes")
	fs.IntVar(&c.BulkMaxRows, "bulk-max-rows", 1_000_000, "most rows in a bulk update file")
	fs.DurationVar(&c.BulkPlanTTL, "bulk-plan-ttl", 24*time.Hour, "a verified bulk update file not started within this time expires and is deleted")
	fs.DurationVar(&c.LeaseTTL, "lease-ttl", 30*time.Second, "with several replicas: another takes the bulk jobs and the Graph sync over within this and a third of it after the one running them dies (1s to 45s)")
	mailFlags(fs, &c.Mail)
	fs.BoolVar(&c.RequireAdminMFA, "require-admin-mfa", false, "make every local account enrol an authenticator app (TOTP) at its next sign-in")
	fs.BoolVar(&c.RequireReason, "require-reason", false, "require a reason (or ticket) for every state change and user settings change")
	fs.StringVar(&c.AuditFile, "audit-file", "", "append every audit record as a JSON line to this file, as it is written (for \"audit verify --against\")")
	fs.StringVar(&c.AuditSyslog, "audit-syslog", "", "send every audit record to syslog: local, udp://HOST:PORT or tcp://HOST:PORT (RFC 5424)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "reverse proxies (CIDRs, comma-separated) whose X-Forwarded-For or Forwarded gives the client's address")
	oidcFlags(fs, &c.OIDC)
	graphFlags(fs, &c.Graph)
	smsFlags(fs, &c.SMS)
}

func (c *config) validate() error {
	if c.DemoUsers < 0 || c.DemoUsers > 10_000_000 {
		return fmt.Errorf("--demo-users %d: expected 0 to 10000000", c.DemoUsers)
	}
	if c.BulkMaxBytes < 1024 || c.BulkMaxRows < 1 {
		return errors.New("--bulk-max-bytes must be at least 1024 and --bulk-max-rows at least 1")
	}
	if c.BulkPlanTTL < time.Minute {
		return errors.New("--bulk-plan-ttl must be at least 1m")
	}
	if c.LeaseTTL < time.Second || c.LeaseTTL > 45*time.Second {
		return fmt.Errorf("--lease-ttl %v: expected 1s to 45s (a take-over within a minute)", c.LeaseTTL)
	}
	if c.SessionIdle < time.Minute || c.SessionMaxAge < time.Minute {
		return errors.New("--session-idle and --session-max-age must be at least 1m")
	}
	if err := c.Graph.validate(); err != nil {
		return err
	}
	if c.AuditSyslog != "" {
		if err := auditsink.ParseSyslogTarget(c.AuditSyslog); err != nil {
			return fmt.Errorf("--audit-syslog %v", err)
		}
	}
	if err := c.SMS.validate(); err != nil {
		return err
	}
	tp, err := web.ParseTrustedProxies(c.TrustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %v", err)
	}
	c.trustedProxies = tp
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	if !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		return fmt.Errorf("--public-url %q: expected an http:// or https:// URL", c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return nil
}

// decodeKey reads a 64-byte key written in hex or base64.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 64 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 64 {
			return b, nil
		}
	}
	return nil, errors.New("expected 64 bytes written as 128 hex digits or in base64")
}
