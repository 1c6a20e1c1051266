package sqlite

import (
	"context"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// TestAwaitingRegistrationCursorAndPlan: a bad cursor is refused, and the list pages over its index
// (the conformance suite checks what it lists).
func TestAwaitingRegistrationCursorAndPlan(t *testing.T) {
	db := openTest(t)
	if _, err := db.AwaitingRegistration(context.Background(), mfa.RegistrationFilter{Limit: 10, After: "bm9wZQ"}); mfa.ErrorField(err) != "cursor" {
		t.Errorf("bad cursor: %v", err)
	}
	rows, err := db.db.Query("EXPLAIN QUERY PLAN SELECT u.id FROM users u WHERE " + awaitingRegistration + " AND " + registrationKey + " > 5 ORDER BY " + registrationKey + " LIMIT 10")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		rows.Scan(&id, &parent, &unused, &detail)
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "users_awaiting_registration") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("the list does not page over its index: %s", p)
	}
}
