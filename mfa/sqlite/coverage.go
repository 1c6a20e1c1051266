package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"

	"github.com/mfaportal/mfaportal/mfa"
)

// A user's Conditional Access coverage is kept in users (migration 061): ca_status, ca_policies (a
// JSON array of names), security_defaults, and ca_covered, the coverage filter's column; the
// tenant's summary in conditional_access.

// encodeCoverage is the ca_status and ca_policies of a coverage.
func encodeCoverage(c mfa.Coverage) (string, string) {
	if len(c.Policies) == 0 {
		return string(c.Status), ""
	}
	b, _ := json.Marshal(c.Policies)
	return string(c.Status), string(b)
}

func decodeCoverage(status, policies string, securityDefaults int) mfa.Coverage {
	c := mfa.Coverage{Status: mfa.CAStatus(status), SecurityDefaults: securityDefaults == 1}
	if policies != "" {
		_ = json.Unmarshal([]byte(policies), &c.Policies) // written by encodeCoverage
	}
	return c
}

func sameCoverage(a, b mfa.Coverage) bool {
	return a.Status == b.Status && a.SecurityDefaults == b.SecurityDefaults && slices.Equal(a.Policies, b.Policies)
}

// SaveConditionalAccess keeps what the last sync learnt of the tenant's Conditional Access.
func (d *DB) SaveConditionalAccess(ctx context.Context, s mfa.ConditionalAccessSummary) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = d.db.ExecContext(ctx, `INSERT INTO conditional_access (id, summary) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET summary = excluded.summary`, string(b))
	return err
}

// ConditionalAccess returns what the last sync learnt (the zero summary before any).
func (d *DB) ConditionalAccess(ctx context.Context) (mfa.ConditionalAccessSummary, error) {
	var s mfa.ConditionalAccessSummary
	var raw string
	err := d.db.QueryRowContext(ctx, "SELECT summary FROM conditional_access WHERE id = 1").Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	err = json.Unmarshal([]byte(raw), &s)
	return s, err
}
