package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/mfaportal/mfaportal/handlers"
	"github.com/mfaportal/mfaportal/mfa"
)

// The MSOnline one-liners (SPEC §10): `users get UPN`, `users set UPN --state S [--reason R]` and
// `users reset UPN [--contact-methods] [--app-passwords] [--remembered-devices]`, with the page's
// rules, roles and audit: they call the same service methods, as the CLI's own actor (global-admin)
// or, with --as NAME, as that local account with its role.

// oneLinerFlags are the flags of get, set and reset.
type oneLinerFlags struct {
	cfg               config
	as                string
	state             string
	reason            string
	contactMethods    bool
	appPasswords      bool
	rememberedDevices bool
}

func (f *oneLinerFlags) register(fs *flag.FlagSet) {
	dataFlag(fs, &f.cfg)
	graphFlags(fs, &f.cfg.Graph)
	fs.BoolVar(&f.cfg.RequireReason, "require-reason", false, "require a reason (or ticket) for every change, as the portal does")
	fs.StringVar(&f.as, "as", "", "act as this local account, with its role (default: the CLI's own actor, a global admin)")
	fs.StringVar(&f.state, "state", "", "set: enabled, enforced or disabled")
	fs.StringVar(&f.reason, "reason", "", "set, reset: the reason or ticket number, kept in the audit log")
	fs.BoolVar(&f.contactMethods, "contact-methods", false, "reset: require the user to provide contact methods again")
	fs.BoolVar(&f.appPasswords, "app-passwords", false, "reset: delete all existing app passwords")
	fs.BoolVar(&f.rememberedDevices, "remembered-devices", false, "reset: restore MFA on all remembered devices")
}

// userOneLiner runs get, set or reset on the user upn and prints the API's JSON.
func (c *cli) userOneLiner(ctx context.Context, sub string, f *oneLinerFlags, rest []string) error {
	if len(rest) != 1 {
		return usageError{fmt.Sprintf("users %s: expected exactly one user name (UPN), found %d arguments", sub, len(rest))}
	}
	upn := rest[0]
	if err := f.cfg.Graph.validate(); err != nil {
		return usageError{err.Error()}
	}
	f.cfg.Graph.ClientSecret = c.getenv("MFAPORTAL_GRAPH_CLIENT_SECRET")
	var to mfa.State
	if sub == "set" {
		if f.state == "" {
			return usageError{"users set: expected --state enabled, enforced or disabled"}
		}
		s, err := mfa.ParseState(f.state)
		if err != nil {
			return err
		}
		to = s
	}
	opts := mfa.ResetOptions{ContactMethods: f.contactMethods, AppPasswords: f.appPasswords, RememberedDevices: f.rememberedDevices}
	if sub == "reset" && !opts.Any() {
		return usageError{"users reset: expected at least one of --contact-methods, --app-passwords, --remembered-devices"}
	}
	db, err := c.openStore(ctx, f.cfg.Data)
	if err != nil {
		return err
	}
	defer db.Close()
	deps := storeDeps(db)
	if f.cfg.Graph.Directory == "graph" {
		d, err := useGraph(f.cfg.Graph, db, &deps, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			return err
		}
		defer d.Close()
	} else if sub != "get" {
		if err := refuseGraphFolder(ctx, db, "users "+sub); err != nil {
			return err
		}
	}
	svc := mfa.MustNewService(deps)
	svc.RequireReason = f.cfg.RequireReason
	actor, err := cliActor(ctx, svc, f.as)
	if err != nil {
		return err
	}
	var out any
	switch sub {
	case "get":
		u, err := svc.GetUser(ctx, actor, upn)
		if err != nil {
			return err
		}
		out = handlers.NewAPIUser(u)
	case "set":
		before, err := svc.GetUser(ctx, actor, upn)
		if err != nil {
			return err
		}
		u, changed, err := svc.SetState(ctx, actor, mfa.StateRequest{UPN: upn, To: to, Reason: f.reason, Source: mfa.SourceCLI, Version: before.Version})
		if err != nil {
			return err
		}
		if changed {
			c.warnEnforced(to, before)
		}
		out = struct {
			User    handlers.APIUser `json:"user"`
			Changed bool             `json:"changed"`
		}{handlers.NewAPIUser(u), changed}
	case "reset":
		u, _, err := svc.ResetUser(ctx, actor, mfa.ResetRequest{UPN: upn, Options: opts, Reason: f.reason, Source: mfa.SourceCLI})
		if err != nil {
			return err
		}
		out = struct {
			User handlers.APIUser `json:"user"`
		}{handlers.NewAPIUser(u)}
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// cliActor is the CLI's own actor, or with --as the local account of that name with its role
// (ENOTFOUND when there is none): the audit log then names that account, signed in by "cli".
func cliActor(ctx context.Context, svc *mfa.Service, as string) (mfa.Actor, error) {
	as = strings.TrimSpace(as)
	if as == "" {
		return mfa.CLIActor, nil
	}
	a, err := svc.Accounts.FindAccount(ctx, as)
	if err != nil {
		if mfa.ErrorCode(err) == mfa.ENOTFOUND {
			return mfa.Actor{}, mfa.Errorf(mfa.ENOTFOUND, "--as %s: there is no local account of that name (see mfaportal accounts list)", as)
		}
		return mfa.Actor{}, err
	}
	return mfa.Actor{Name: a.Name, Role: a.Role, Method: "cli"}, nil
}

// warnEnforced says on stderr what the page's enforce dialog warns of (SPEC §1) once a user is
// enforced: a user without registered methods loses their non-browser apps; an admin must be able
// to complete MFA. (The one-liner acts at once, as MSOnline's does; the JSON on stdout is unchanged.)
func (c *cli) warnEnforced(to mfa.State, before *mfa.User) {
	if to != mfa.StateEnforced {
		return
	}
	w := mfa.WarningsFor(mfa.ActionEnforce, []*mfa.User{before}, 1)
	if w.NoMethods > 0 {
		fmt.Fprintf(c.stderr, "warning: %s has no registered verification methods: their non-browser apps stop working until they register and create app passwords\n", before.UPN)
	}
	if w.Privileged > 0 {
		fmt.Fprintf(c.stderr, "warning: %s holds an administrator role: make sure they can complete multi-factor authentication, or they may be locked out of administration\n", before.UPN)
	}
}
