package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func (c *cli) tokens(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"tokens: expected create, revoke or list"}
	}
	sub, args := args[0], args[1:]
	var cfg config
	fs := newFlagSet("tokens "+sub, c.stderr)
	dataFlag(fs, &cfg)
	name := fs.String("name", "", "create: the token's name (what it is for), e.g. nightly-export")
	role := fs.String("role", "", "create: global-admin, authentication-admin, helpdesk or reader")
	rest, err := parseFlags(fs, args, c.getenv)
	if err != nil {
		return errFlagUsage
	}
	wantArgs := map[string]int{"create": 0, "revoke": 1, "list": 0}
	n, known := wantArgs[sub]
	if !known {
		return usageError{fmt.Sprintf("tokens: unknown command %q: expected create, revoke or list", sub)}
	}
	if len(rest) != n {
		return usageError{fmt.Sprintf("tokens %s: expected %d argument(s), found %d", sub, n, len(rest))}
	}
	if sub == "create" && (*name == "" || *role == "") {
		return usageError{"tokens create: expected --name NAME and --role ROLE"}
	}
	db, err := c.openStore(ctx, cfg.Data)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := newService(db)
	switch sub {
	case "create":
		secret, t, err := svc.CreateToken(ctx, mfa.CLIActor, *name, mfa.Role(*role))
		if err != nil {
			return err
		}
		// The token alone on the last line, so that scripts can take it with `tail -n 1`.
		fmt.Fprintf(c.stdout, "created the API token %s (%s). It is shown only this once; send it as Authorization: Bearer TOKEN\n%s\n", t.Name, t.Role, secret)
	case "revoke":
		if err := svc.RevokeToken(ctx, mfa.CLIActor, rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "revoked the API token %s; requests with it are refused from now on\n", rest[0])
	case "list":
		list, err := svc.ListTokens(ctx, mfa.CLIActor)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tLAST USED")
		for _, t := range list {
			used := "never"
			if !t.LastUsedAt.IsZero() {
				used = t.LastUsedAt.Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Role, t.CreatedAt.Format(time.DateTime), used)
		}
		return tw.Flush()
	}
	return nil
}
