package postgres

import (
	"context"
	"encoding/json"

	"github.com/mfaportal/mfaportal/mfa"
)

// Conditional Access (SPEC §11) on PostgreSQL, for now: the tenant's summary is kept (meta); each
// user's coverage and the coverage filter are not stored yet (SQLite's migration 061 has them), so
// the filter is refused rather than ignored, and users show no coverage.

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

// refuseCoverage refuses the coverage filter, which this store does not keep yet.
func refuseCoverage(f mfa.UserFilter) error {
	if f.Coverage != mfa.CoverageAny {
		return mfa.FieldErrorf("coverage", "the Conditional Access coverage filter is not available with PostgreSQL yet")
	}
	return nil
}
