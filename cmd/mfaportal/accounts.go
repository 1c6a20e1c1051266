package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func (c *cli) accounts(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"accounts: expected add, passwd, remove, reset-mfa or list"}
	}
	sub, args := args[0], args[1:]
	var cfg config
	fs := newFlagSet("accounts "+sub, c.stderr)
	dataFlag(fs, &cfg)
	role := fs.String("role", "", "add: global-admin, authentication-admin, helpdesk or reader")
	rest, err := parseFlags(fs, args, c.getenv)
	if err != nil {
		return errFlagUsage
	}
	wantArgs := map[string]int{"add": 1, "passwd": 1, "remove": 1, "reset-mfa": 1, "list": 0}
	n, known := wantArgs[sub]
	if !known {
		return usageError{fmt.Sprintf("accounts: unknown command %q: expected add, passwd, remove, reset-mfa or list", sub)}
	}
	if len(rest) != n {
		return usageError{fmt.Sprintf("accounts %s: expected %d argument(s), found %d", sub, n, len(rest))}
	}
	db, err := c.openStore(ctx, cfg.Data)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := newService(db)
	switch sub {
	case "add":
		r, err := mfa.ParseRole(*role)
		if err != nil {
			return err
		}
		pw, err := c.readPassword()
		if err != nil {
			return err
		}
		if err := svc.CreateAccount(ctx, mfa.CLIActor, rest[0], r, pw); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "added account %s (%s)\n", rest[0], r)
	case "passwd":
		pw, err := c.readPassword()
		if err != nil {
			return err
		}
		if err := svc.SetAccountPassword(ctx, mfa.CLIActor, rest[0], pw); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "changed the password of %s; its sessions are signed out\n", rest[0])
	case "remove":
		if err := svc.RemoveAccount(ctx, mfa.CLIActor, rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "removed account %s; its sessions are signed out\n", rest[0])
	case "reset-mfa":
		if err := svc.ResetAccountMFA(ctx, mfa.CLIActor, rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "removed the authenticator app of %s; its sessions are signed out and it enrols a new one at its next sign-in if MFA is required\n", rest[0])
	case "list":
		accounts, err := svc.ListAccounts(ctx, mfa.CLIActor)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tPASSWORD CHANGED\tAUTHENTICATOR")
		for _, a := range accounts {
			app := "none"
			if on, _, err := svc.AccountTOTP(ctx, a.Name); err != nil {
				return err
			} else if on {
				app = "enrolled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Name, a.Role, a.CreatedAt.Format(time.DateTime), a.UpdatedAt.Format(time.DateTime), app)
		}
		return tw.Flush()
	}
	return nil
}
