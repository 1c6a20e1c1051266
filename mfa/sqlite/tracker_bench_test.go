package sqlite

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// BenchmarkAwaitingRegistration pages the registration tab over the demo directory of
// MFAPORTAL_BENCH_USERS users (default 100,000): the first page, a page half-way through (by its
// cursor) and the whole export, and the overview's counts. Reports p95/p99/max like FindUsers.
func BenchmarkAwaitingRegistration(b *testing.B) {
	n := benchUsers(b)
	db := benchDB(b, n)
	ctx := context.Background()
	first, err := db.AwaitingRegistration(ctx, mfa.RegistrationFilter{Limit: mfa.DefaultLimit})
	if err != nil {
		b.Fatal(err)
	}
	// A cursor half-way: walk pages of 1,000 to the middle once.
	mid := ""
	for seen, f := 0, (mfa.RegistrationFilter{Limit: mfa.MaxLimit}); seen < first.Total/2; seen += mfa.MaxLimit {
		p, err := db.AwaitingRegistration(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		if p.NextCursor == "" {
			break
		}
		mid, f.After = p.NextCursor, p.NextCursor
	}
	b.Run("first-page", func(b *testing.B) {
		timed(b, func() (*mfa.UserPage, error) {
			p, err := db.AwaitingRegistration(ctx, mfa.RegistrationFilter{Limit: mfa.DefaultLimit})
			if err != nil {
				return nil, err
			}
			return &mfa.UserPage{Total: p.Total}, nil
		})
	})
	b.Run("middle-page", func(b *testing.B) {
		timed(b, func() (*mfa.UserPage, error) {
			p, err := db.AwaitingRegistration(ctx, mfa.RegistrationFilter{Limit: mfa.DefaultLimit, After: mid})
			if err != nil {
				return nil, err
			}
			return &mfa.UserPage{Total: p.Total}, nil
		})
	})
	b.Run("export", func(b *testing.B) {
		svc := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Audit: db, Settings: db, Jobs: db, Registrations: db, Now: func() time.Time { return t0 }})
		for b.Loop() {
			if err := svc.ExportAwaitingRegistration(ctx, mfa.CLIActor, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(first.Total), "users")
		b.ReportMetric(float64(first.Total)/(float64(b.Elapsed().Seconds())/float64(b.N)), "users/s")
	})
	b.Run("overview-counts", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.CountOverview(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
