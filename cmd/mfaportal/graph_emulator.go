package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// graphEmulator runs mfa/graphemu, the local Microsoft Graph wire-format server, over TLS until
// the process is stopped. It prints its base URL and writes its certificate to the data folder,
// so that the portal can trust it (MFAPORTAL_GRAPH_CA_FILE).
func (c *cli) graphEmulator(ctx context.Context, args []string) error {
	var cfg config
	fs := newFlagSet("graph-emulator", c.stderr)
	dataFlag(fs, &cfg)
	addr := fs.String("addr", "127.0.0.1:8443", "address to listen on (https)")
	users := fs.Int("users", 300, "number of demo users in the emulated tenant")
	latency := fs.Duration("latency", 0, "latency added to every answer, e.g. 50ms")
	tenant := fs.String("tenant-id", "", "the only tenant that gets tokens (default: any)")
	clientID := fs.String("client-id", "", "the only client id that gets tokens (default: any)")
	noQuotas := fs.Bool("no-quotas", false, "do not throttle (by default Graph's documented quotas apply)")
	sysPref := fs.Bool("system-preferred-mfa", true, "system-preferred MFA on in the emulated tenant, as in most real tenants")
	noPremium := fs.Bool("no-premium", false, "a tenant without Microsoft Entra ID P1/P2: no Conditional Access, security defaults on, no registration report")
	rest, err := parseFlags(fs, args, c.getenv)
	if err != nil {
		return errFlagUsage
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("graph-emulator takes no arguments, found %q", rest[0])}
	}
	if *users < 0 || *users > 10_000_000 {
		return usageError{fmt.Sprintf("--users %d: expected 0 to 10000000", *users)}
	}
	opts := graphemu.Options{Users: *users, Latency: *latency, Quotas: graphemu.Quotas{Disabled: *noQuotas}, SystemPreferredMFAOff: !*sysPref, NoPremiumLicense: *noPremium,
		Credentials: graphemu.Credentials{TenantID: *tenant, ClientID: *clientID, ClientSecret: c.getenv("MFAPORTAL_GRAPH_CLIENT_SECRET")}}
	start := time.Now()
	emu := graphemu.New(opts)
	base, stop, err := emu.StartTLS(*addr)
	if err != nil {
		return err
	}
	defer stop()
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return err
	}
	caFile, err := filepath.Abs(filepath.Join(cfg.Data, "graph-emulator-ca.pem"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(caFile, emu.CertificatePEM(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "graph emulator: %d users (seeded in %.1fs) at %s\n", *users, time.Since(start).Seconds(), base)
	fmt.Fprintf(c.stdout, "certificate: %s\n\nPoint the portal at it:\n", caFile)
	fmt.Fprintf(c.stdout, "  MFAPORTAL_DIRECTORY=graph MFAPORTAL_GRAPH_BASE_URL=%s MFAPORTAL_GRAPH_AUTHORITY_URL=%s \\\n", base, base)
	fmt.Fprintf(c.stdout, "  MFAPORTAL_GRAPH_CA_FILE=%s MFAPORTAL_GRAPH_TENANT_ID=contoso.onmicrosoft.com \\\n", caFile)
	fmt.Fprintf(c.stdout, "  MFAPORTAL_GRAPH_CLIENT_ID=00000000-0000-0000-0000-000000000001 MFAPORTAL_GRAPH_CLIENT_SECRET=any mfaportal serve --data OTHER-DIR\n")
	<-ctx.Done()
	return nil
}
