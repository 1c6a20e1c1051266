package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/postgres"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
)

// migrate is `mfaportal migrate --to URL`: the data folder copied into an empty PostgreSQL
// database, checked there, after which the portal runs with MFAPORTAL_DATABASE_URL.
func (c *cli) migrate(ctx context.Context, args []string) error {
	var cfg config
	fs := newFlagSet("migrate", c.stderr)
	dataFlag(fs, &cfg)
	to := fs.String("to", "", "the empty PostgreSQL database to copy the data folder into (postgres://…; default MFAPORTAL_DATABASE_URL); "+
		"give its password in PGPASSWORD, not in the URL: flags show in ps")
	rest, err := parseFlags(fs, args, c.getenv)
	if err != nil {
		return errFlagUsage
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("migrate takes no arguments, found %q", rest[0])}
	}
	url := *to
	if url == "" {
		url = c.databaseURL()
	}
	if url == "" {
		return usageError{"migrate: give the database to copy into: --to postgres://…"}
	}
	if _, err := os.Stat(filepath.Join(cfg.Data, "mfaportal.db")); errors.Is(err, os.ErrNotExist) {
		return mfa.Errorf(mfa.EINVALID, "there is no data folder at %s to copy (--data)", cfg.Data)
	}
	// Opened as every command opens it: a log from before the audit key is re-chained first.
	src, err := openKeyedStore(ctx, cfg.Data, c.getenv("MFAPORTAL_AUDIT_KEY"))
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer dst.Close()
	dump, err := src.Dump(ctx) // writers (a portal still running) wait until the copy ends
	if err != nil {
		return err
	}
	defer dump.Close()
	start := time.Now()
	fmt.Fprintf(c.stdout, "copying %s into PostgreSQL\n", src.Path)
	rep, err := dst.MigrateFrom(ctx, dumpSource{dump}, src.AuditKey(), func(t postgres.TableCopy) {
		fmt.Fprintf(c.stdout, "  %-20s %10d rows %8.1f s\n", t.Table, t.Rows, t.Took.Seconds())
	})
	if err != nil {
		return err
	}
	dump.Close()
	if _, err := dst.UseAuditKey(ctx, src.AuditKey(), time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "copied in %.1f s: every table holds as many rows as in the data folder, the audit chain of %d records verifies under the audit key.\n",
		time.Since(start).Seconds(), rep.AuditRecords)
	keyFrom := "MFAPORTAL_AUDIT_KEY as now"
	if c.getenv("MFAPORTAL_AUDIT_KEY") == "" {
		keyFrom = "MFAPORTAL_AUDIT_KEY set to the key in " + filepath.Join(cfg.Data, "audit.key")
	}
	fmt.Fprintf(c.stdout, "Run every replica with MFAPORTAL_DATABASE_URL and %s. Users and admins sign in again.\n", keyFrom)
	return nil
}

// dumpSource is the data folder's store read for copying.
type dumpSource struct{ *sqlite.Dump }

func (s dumpSource) Rows(ctx context.Context, table string, cols []string) (postgres.SourceRows, error) {
	return s.Dump.Rows(ctx, table, cols)
}
