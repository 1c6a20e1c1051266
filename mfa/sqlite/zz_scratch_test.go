package sqlite

import (
	"context"
	"fmt"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

func TestScratchPlans(t *testing.T) {
	db := openTest(t)
	seedDemo(t, db, 50)
	c := encodeCursor(row{sortKey: "m", id: 5})
	for _, f := range []mfa.UserFilter{
		{View: mfa.ViewAll}, {View: mfa.ViewAllowed, Status: "enforced", After: c}, {View: mfa.ViewBlocked, Before: c},
		{View: mfa.ViewAll, Query: "a"}, {View: mfa.ViewAllowed, Status: "enforced", Query: "el", After: c},
		{View: mfa.ViewAll, Query: "smi", Before: c},
	} {
		f.Limit = 100
		fq, err := findUsersQuery(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{fq.count, fq.page} {
			fmt.Println("==", q)
			rows, err := db.db.Query("EXPLAIN QUERY PLAN "+q, append(fq.pageArgs, 1, 2, 3)[:len(fq.pageArgs)]...)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var a, b, c int
				var d string
				rows.Scan(&a, &b, &c, &d)
				fmt.Println("   ", d)
			}
		}
	}
	_ = context.Background()
}
