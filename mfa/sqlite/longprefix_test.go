package sqlite

import (
	"context"
	"testing"

	"github.com/mfaportal/mfaportal/mfa/storetest"
)

func TestLongPrefixes(t *testing.T) {
	storetest.RunLongPrefixes(t, storetest.LongPrefixes{
		Open: func(t *testing.T) storetest.Store {
			db := openTest(t)
			db.longPrefixMin = 1
			return db
		},
		Listed: func(t *testing.T, db storetest.Store, prefix string) bool {
			listed, err := db.(*DB).isLongPrefix(context.Background(), prefix)
			if err != nil {
				t.Fatal(err)
			}
			return listed
		},
		Forget: func(db storetest.Store) { db.(*DB).longPrefixTries.Forget() },
		HoldWriters: func(t *testing.T, db storetest.Store) func() {
			ctx := context.Background()
			tx, err := db.(*DB).db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tx.Rollback() })
			if _, err := tx.ExecContext(ctx, "UPDATE users SET app_passwords = app_passwords WHERE id = (SELECT min(id) FROM users)"); err != nil {
				t.Fatal(err)
			}
			return func() {
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
			}
		},
		CheckCounts: func(t *testing.T, db storetest.Store) { checkCounts(t, db.(*DB)) },
	})
}
