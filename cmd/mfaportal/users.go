package main

import (
	"bufio"
	"context"
	"fmt"
	"os"

	"github.com/mfaportal/mfaportal/mfa"
)

func (c *cli) users(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"users: expected import FILE, export, get UPN, set UPN, reset UPN or setup-link UPN"}
	}
	sub, args := args[0], args[1:]
	if sub == "get" || sub == "set" || sub == "reset" {
		var f oneLinerFlags
		fs := newFlagSet("users "+sub, c.stderr)
		f.register(fs)
		rest, err := parseFlags(fs, args, c.getenv)
		if err != nil {
			return errFlagUsage
		}
		return c.userOneLiner(ctx, sub, &f, rest)
	}
	var cfg config
	fs := newFlagSet("users "+sub, c.stderr)
	dataFlag(fs, &cfg)
	view := fs.String("view", "all", "export: allowed, blocked or all")
	status := fs.String("status", "any", "export: any, enabled, enforced or disabled")
	publicURL := fs.String("public-url", "", "setup-link: the URL users reach the portal at (default http://127.0.0.1:8080)")
	rest, err := parseFlags(fs, args, c.getenv)
	if err != nil {
		return errFlagUsage
	}
	switch sub {
	case "setup-link":
		return c.setupLink(ctx, cfg, *publicURL, rest)
	case "import":
		if len(rest) != 1 {
			return usageError{"users import: expected exactly one FILE"}
		}
		f, err := os.Open(rest[0])
		if err != nil {
			return mfa.Errorf(mfa.EINVALID, "cannot open %s: %v", rest[0], err)
		}
		defer f.Close()
		db, err := c.openStore(ctx, cfg.Data)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := refuseGraphFolder(ctx, db, "users import"); err != nil {
			return err
		}
		res, err := newService(db).ImportUsers(ctx, mfa.CLIActor, f, mfa.DefaultCSVLimits)
		if err != nil {
			return err
		}
		if res.Notice != "" { // as bulk verify says it: the encoding was a guess to check
			fmt.Fprintln(c.stdout, res.Notice)
		}
		fmt.Fprintf(c.stdout, "imported %s: %d created, %d updated\n", rest[0], res.Created, res.Updated)
		return nil
	case "export":
		if len(rest) != 0 {
			return usageError{"users export: takes no arguments (it writes to stdout)"}
		}
		v, err := mfa.ParseView(*view, mfa.ViewAll)
		if err != nil {
			return err
		}
		s, err := mfa.ParseStatusFilter(*status)
		if err != nil {
			return err
		}
		db, err := c.openStore(ctx, cfg.Data)
		if err != nil {
			return err
		}
		defer db.Close()
		w := bufio.NewWriterSize(c.stdout, 64<<10)
		if err := newService(db).ExportUsers(ctx, mfa.CLIActor, mfa.UserFilter{View: v, Status: s}, w); err != nil {
			return err
		}
		return w.Flush()
	}
	return usageError{fmt.Sprintf("users: unknown command %q: expected import, export, get, set, reset or setup-link", sub)}
}
