package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/postgres"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
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
	against := fs.String("against", "", "verify: also compare the database with this JSON-lines stream (MFAPORTAL_AUDIT_FILE)")
	rest, err := parseFlags(fs, args, c.getenv)
	if err != nil {
		return errFlagUsage
	}
	if len(rest) != 0 {
		return usageError{fmt.Sprintf("audit %s: takes no arguments", sub)}
	}
	switch sub {
	case "export":
		db, err := c.openStore(ctx, cfg.Data)
		if err != nil {
			return err
		}
		defer db.Close()
		w := bufio.NewWriterSize(c.stdout, 64<<10)
		if err := newService(db).ExportAudit(ctx, mfa.CLIActor, mfa.AuditFilter{Target: *target, Actor: *actor, Action: *action}, w); err != nil {
			return err
		}
		return w.Flush()
	case "verify":
		return c.verifyAudit(ctx, cfg.Data, *against)
	}
	return usageError{fmt.Sprintf("audit: unknown command %q: expected export or verify", sub)}
}

// errTampered is verify --against's finding: the report is on stdout, the exit code 1.
var errTampered = mfa.Errorf(mfa.EINVALID, "the audit log has been tampered with: see the report above")

// verifyAudit checks the chain (and compares with the stream file when given), changing nothing:
// the store is opened without re-chaining, with the key the log is chained with.
func (c *cli) verifyAudit(ctx context.Context, data, against string) error {
	var db store
	var chain string
	var err error
	if url := c.databaseURL(); url != "" {
		var pdb *postgres.DB
		if pdb, err = postgres.Open(ctx, url); err == nil {
			db = pdb
			chain, err = pdb.AuditChain(ctx)
		}
	} else {
		var sdb *sqlite.DB
		if sdb, err = openPlainStore(ctx, data); err == nil {
			db, chain = sdb, sdb.AuditChain()
		}
	}
	if db != nil {
		defer db.Close()
	}
	if err != nil {
		return err
	}
	svc := newService(db)
	if chain != mfa.AuditChainHMAC {
		if id, err := db.Meta(ctx, "audit_key_id"); err != nil {
			return err
		} else if id != "" {
			return mfa.Errorf(mfa.EINVALID, "the audit log has been tampered with: %s", mfa.ErrorMessage(mfa.ErrAuditMarkedLegacy))
		}
	}
	if chain == mfa.AuditChainHMAC {
		if c.databaseURL() != "" && c.getenv("MFAPORTAL_AUDIT_KEY") == "" {
			return mfa.Errorf(mfa.EINVALID, "the audit log is chained with the audit key: give it in MFAPORTAL_AUDIT_KEY")
		}
		if svc.AuditKey, err = existingAuditKey(data, c.getenv("MFAPORTAL_AUDIT_KEY")); err != nil {
			return err
		}
		if svc.AuditKey == nil {
			return mfa.Errorf(mfa.EINVALID, "the audit log is chained with the audit key, which is neither in MFAPORTAL_AUDIT_KEY nor in %s: give it in MFAPORTAL_AUDIT_KEY",
				filepath.Join(data, "audit.key"))
		}
		// A key other than the log's would make every record look altered: say so instead (the
		// store keeps the id of the key the log was first chained with).
		if id, err := db.Meta(ctx, "audit_key_id"); err != nil {
			return err
		} else if id != "" && id != mfa.AuditKeyID(svc.AuditKey) {
			return mfa.Errorf(mfa.EINVALID, "the audit key given is not the key the log was chained with (its id differs from the one kept beside the log): "+
				"give the key the log was written with in MFAPORTAL_AUDIT_KEY or DATA/audit.key. If it is that key, the id kept beside the log was changed: tampering")
		}
	}
	if against == "" {
		n, err := svc.VerifyAudit(ctx, mfa.CLIActor)
		if mfa.ErrorCode(err) == mfa.EINVALID {
			return mfa.Errorf(mfa.EINVALID, "the audit log has been tampered with: %s (the %d records before it verified)", mfa.ErrorMessage(err), n)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "the audit log is intact: %d records, chain verified (%s)\n", n, chainName(svc.AuditKey))
		return nil
	}
	f, err := os.Open(against)
	if err != nil {
		return mfa.Errorf(mfa.EINVALID, "--against: %v", err)
	}
	defer f.Close()
	cmp, err := svc.CompareAudit(ctx, mfa.CLIActor, f)
	if err != nil {
		return err
	}
	printComparison(c.stdout, against, cmp, chainName(svc.AuditKey))
	if !cmp.Intact() {
		return errTampered
	}
	return nil
}

func chainName(key []byte) string {
	if key == nil {
		return "SHA-256, without the audit key: not yet upgraded"
	}
	return "HMAC-SHA256 under the audit key"
}

// printComparison reports what `audit verify --against` found, one line per finding.
func printComparison(w io.Writer, file string, c *mfa.AuditComparison, chain string) {
	if c.Chain != nil {
		fmt.Fprintf(w, "TAMPERED: %s\n", mfa.ErrorMessage(c.Chain))
	}
	if c.FileChain != nil {
		fmt.Fprintf(w, "TAMPERED FILE: %s: %s\n", file, mfa.ErrorMessage(c.FileChain))
	}
	diff := func(label string, d mfa.AuditDifferences, what string) {
		if d.Count == 0 {
			return
		}
		seqs := make([]string, len(d.Seqs))
		for i, s := range d.Seqs {
			seqs[i] = fmt.Sprint(s)
		}
		more := ""
		if d.Count > int64(len(d.Seqs)) {
			more = fmt.Sprintf(" and %d more", d.Count-int64(len(d.Seqs)))
		}
		fmt.Fprintf(w, "TAMPERED: %d record(s) %s: %s%s\n", d.Count, label+" "+what, strings.Join(seqs, ", "), more)
	}
	diff("missing", c.Missing, "from the database (in the file, deleted since)")
	diff("added", c.Added, fmt.Sprintf("to the database (not in the file, which ends at record %d: inserted, or written after the file was copied)", c.FileLast))
	diff("changed", c.Changed, "in the database (different from the file)")
	if c.Intact() {
		fmt.Fprintf(w, "the audit log is intact: %d records, chain verified (%s), the same as the %d records of %s\n", c.Database, chain, c.File, file)
	}
	if c.Before > 0 {
		fmt.Fprintf(w, "records 1 to %d are older than %s, which starts at record %d (a rotated stream): compare them with the files rotated before it\n",
			c.FileFirst-1, file, c.FileFirst)
	}
}
