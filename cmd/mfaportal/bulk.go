package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func (c *cli) bulk(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"bulk: expected verify FILE or apply FILE"}
	}
	sub, args := args[0], args[1:]
	var cfg config
	fs := newFlagSet("bulk "+sub, c.stderr)
	dataFlag(fs, &cfg)
	yes := fs.Bool("yes", false, "apply: do not ask for confirmation")
	all := fs.Bool("all", false, "verify: print every row, not only those with errors or warnings")
	reason := fs.String("reason", "", "apply: the reason or ticket recorded with every change")
	rest, err := parseFlags(fs, args, c.getenv)
	if err != nil {
		return errFlagUsage
	}
	if sub != "verify" && sub != "apply" {
		return usageError{fmt.Sprintf("bulk: unknown command %q: expected verify or apply", sub)}
	}
	if len(rest) != 1 {
		return usageError{fmt.Sprintf("bulk %s: expected exactly one FILE", sub)}
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
	svc := newService(db)
	out := bufio.NewWriter(c.stdout)
	defer out.Flush()

	if sub == "verify" {
		plan, err := svc.PlanBulkFile(ctx, mfa.CLIActor, f, mfa.DefaultCSVLimits, func(rows []mfa.BulkRow) error {
			for _, r := range rows {
				if *all || r.Error != "" || len(r.Warnings) > 0 {
					printRow(out, r)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if plan.Notice != "" {
			fmt.Fprintln(out, plan.Notice)
		}
		counts := plan.Counts
		printCounts(out, counts)
		if counts.Errors > 0 {
			out.Flush()
			return mfa.Errorf(mfa.EINVALID, "%d rows are in error", counts.Errors)
		}
		return nil
	}

	if err := refuseGraphFolder(ctx, db, "bulk apply"); err != nil {
		return err
	}
	job, err := svc.CreateBulkJob(ctx, mfa.CLIActor, rest[0], f, mfa.DefaultCSVLimits, *reason)
	if err != nil {
		return err
	}
	printCounts(out, job.Counts)
	if job.Counts.Valid() == 0 {
		svc.DiscardBulkJob(ctx, mfa.CLIActor, job.ID)
		fmt.Fprintln(out, "nothing to apply")
		return nil
	}
	if !*yes {
		fmt.Fprintf(out, "Apply %d rows (%d will be skipped)? [y/N] ", job.Counts.Valid(), job.Counts.Unchanged+job.Counts.Errors)
		out.Flush()
		answer, _ := bufio.NewReader(c.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			svc.DiscardBulkJob(ctx, mfa.CLIActor, job.ID)
			fmt.Fprintln(out, "not applied: nothing was changed")
			return nil
		}
	}
	if _, err := svc.StartBulkJob(ctx, mfa.CLIActor, job.ID, *reason); err != nil {
		return err
	}
	runner := mfa.NewBulkRunner(svc, func(msg string, err error) { fmt.Fprintf(c.stderr, "%s: %v\n", msg, err) })
	runner.BatchSize, runner.BatchTime, runner.LiveProgress = 30000, 2*time.Second, true // as serve does
	runner.SizeBatchesFor(db)
	done := make(chan error, 1)
	go func() { done <- runner.RunJob(ctx, job.ID) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			j, ferr := svc.GetBulkJob(context.WithoutCancel(ctx), mfa.CLIActor, job.ID)
			if err == nil {
				err = ferr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "bulk update %s: %s — %d changed, %d already so, %d failed, %d skipped\n",
				j.ID, j.Status, j.Changed, j.Unchanged, j.Failed, j.Counts.Unchanged+j.Counts.Errors)
			if j.Status == mfa.JobRunning {
				fmt.Fprintln(out, "stopped before the end: the job resumes when the portal (mfaportal serve) next runs")
			}
			if j.Failed > 0 {
				out.Flush()
				return mfa.Errorf(mfa.EINVALID, "%d rows failed", j.Failed)
			}
			return nil
		case <-tick.C:
			if j, err := svc.GetBulkJob(ctx, mfa.CLIActor, job.ID); err == nil {
				fmt.Fprintf(c.stderr, "\r%d / %d rows", j.Done, j.Total)
			}
		}
	}
}

func printRow(w *bufio.Writer, r mfa.BulkRow) {
	detail := r.Error
	if len(r.Warnings) > 0 {
		if detail != "" {
			detail += "; "
		}
		detail += "warning: " + strings.Join(r.Warnings, "; ")
	}
	from, to := "?", "?"
	if r.From != "" {
		from = r.From.Label()
	}
	if r.To != "" {
		to = r.To.Label()
	}
	fmt.Fprintf(w, "line %d\t%s\t%s → %s\t%s\t%s\n", r.Line, r.Username, from, to, r.Action, detail)
}

func printCounts(w *bufio.Writer, c mfa.BulkCounts) {
	fmt.Fprintf(w, "will enable %d, will enforce %d, will disable %d, already in that state %d, errors %d\n",
		c.Enable, c.Enforce, c.Disable, c.Unchanged, c.Errors)
}
