package sqlite

import (
	"context"
	"testing"

	"github.com/mfaportal/mfaportal/mfa/storetest"
)

// The counts and the terms follow the coverage whoever writes it: the writer, or plain SQL (the
// conformance suite checks what the store answers with it).
func TestCoverageCounted(t *testing.T) {
	db := openTest(t)
	seedDemo(t, db, 120)
	storetest.CoverSome(t, db)
	checkCounts(t, db)
	if _, err := db.db.ExecContext(context.Background(), "UPDATE users SET ca_covered = 1 - ca_covered WHERE id % 5 = 0"); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
}
