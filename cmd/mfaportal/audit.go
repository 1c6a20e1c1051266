package main

import (
	"bufio"
	"context"
	"fmt"

	"github.com/mfaportal/mfaportal/mfa"
)

func (c *cli) audit(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"audit: expected export or verify"}
	}
	sub, args := args[0], args[1:]
	var cfg config
	fs := newFlagSet("audit "+sub, c.stderr)
	dataFlag(fs, &cfg)
	target := fs.String("target", "", "export: only records about this user or target")
	actor := fs.String("actor", "", "export: only records by this admin")
	action := fs.String("action", "", "export: only this action")
	rest, err := parseFlags(fs, args, c.getenv)
	if err != nil {
		return errFlagUsage
	}
	if len(rest) != 0 {
		return usageError{fmt.Sprintf("audit %s: takes no arguments", sub)}
	}
	if sub != "export" && sub != "verify" {
		return usageError{fmt.Sprintf("audit: unknown command %q: expected export or verify", sub)}
	}
	db, err := openStore(ctx, cfg.Data)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := newService(db)
	if sub == "export" {
		w := bufio.NewWriterSize(c.stdout, 64<<10)
		if err := svc.ExportAudit(ctx, mfa.CLIActor, mfa.AuditFilter{Target: *target, Actor: *actor, Action: *action}, w); err != nil {
			return err
		}
		return w.Flush()
	}
	n, err := svc.VerifyAudit(ctx, mfa.CLIActor)
	if err != nil {
		if mfa.ErrorCode(err) == mfa.EINVALID {
			return fmt.Errorf("the audit log is broken after %d good records: %s", n, mfa.ErrorMessage(err))
		}
		return err
	}
	fmt.Fprintf(c.stdout, "the audit log is intact: %d records, hash chain verified\n", n)
	return nil
}
