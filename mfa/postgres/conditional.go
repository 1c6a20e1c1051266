package postgres

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/mfaportal/mfaportal/mfa"
)

// Conditional Access (SPEC §11) on PostgreSQL: each user's coverage is kept in users (ca_status,
// ca_policies, security_defaults, and the coverage filter's ca_covered, as SQLite's migration 061
// has them); the tenant's summary in meta.

const conditionalAccessKey = "conditional_access"

// SaveConditionalAccess keeps what the last sync learnt of the tenant's Conditional Access.
func (d *DB) SaveConditionalAccess(ctx context.Context, s mfa.ConditionalAccessSummary) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return d.SetMeta(ctx, conditionalAccessKey, string(b))
}

// ConditionalAccess returns what the last sync learnt (the zero summary before any).
func (d *DB) ConditionalAccess(ctx context.Context) (mfa.ConditionalAccessSummary, error) {
	var s mfa.ConditionalAccessSummary
	raw, err := d.Meta(ctx, conditionalAccessKey)
	if err != nil || raw == "" {
		return s, err
	}
	err = json.Unmarshal([]byte(raw), &s)
	return s, err
}

// encodePolicies is the ca_policies column of a coverage's policy names: a JSON array, "" for none.
func encodePolicies(names []string) string {
	if len(names) == 0 {
		return ""
	}
	b, _ := json.Marshal(names)
	return string(b)
}

func decodePolicies(s string) []string {
	if s == "" {
		return nil
	}
	var names []string
	_ = json.Unmarshal([]byte(s), &names) // written by encodePolicies
	return names
}

// sameCoverage says whether two coverages are alike.
func sameCoverage(a, b mfa.Coverage) bool {
	return a.Status == b.Status && a.SecurityDefaults == b.SecurityDefaults && slices.Equal(a.Policies, b.Policies)
}
