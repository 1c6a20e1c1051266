package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// copyUsers copies the users, then computes their search terms (mfa.UserTerms, as when a user is
// written here) from a second read of them: two streams, neither held.
func copyUsers(ctx context.Context, tx pgx.Tx, src Source, done func(TableCopy)) error {
	c, err := copyTable(ctx, tx, src, "users", "users")
	if err != nil {
		return err
	}
	done(c)
	start := time.Now()
	rows, err := src.Rows(ctx, "users", []string{"id", "upn", "display_name", "account_enabled", "privileged", "methods", "ca_status", "security_defaults"})
	if err != nil {
		return err
	}
	defer rows.Close()
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"user_terms"},
		[]string{"term", "user_id", "lcp", "sort_key", "upn_key", "account_enabled", "privileged", "methods_class", "ca_covered"},
		&termRows{users: rows})
	if err != nil {
		return err
	}
	done(TableCopy{Table: "user_terms", Rows: n, Took: time.Since(start)})
	return nil
}

// termRows are the user_terms rows of users read from the source, a user's terms at a time.
type termRows struct {
	users SourceRows
	rows  [][]any // the current user's rows not read yet, the current one first
	err   error
}

func (t *termRows) Next() bool {
	if len(t.rows) > 0 {
		t.rows = t.rows[1:]
	}
	for len(t.rows) == 0 {
		if !t.users.Next() {
			t.err = t.users.Err()
			return false
		}
		vals, err := t.users.Values()
		if err != nil {
			t.err = err
			return false
		}
		t.rows = userTermRows(vals)
	}
	return true
}

func (t *termRows) Values() ([]any, error) { return t.rows[0], nil }

func (t *termRows) Err() error { return t.err }

// userTermRows are the term rows of a user read as id, upn, display_name, account_enabled,
// privileged, methods, ca_status, security_defaults (SQLite's integers for booleans).
func userTermRows(v []any) [][]any {
	id, _ := v[0].(int64)
	upn, _ := v[1].(string)
	name, _ := v[2].(string)
	methods, _ := v[5].(string)
	status, _ := v[6].(string)
	ms, _ := mfa.ParseMethodList(methods)
	cov := mfa.Coverage{Status: mfa.CAStatus(status), SecurityDefaults: isTrue(v[7])}
	sortKey, terms := mfa.UserTerms(name, upn)
	out := make([][]any, len(terms))
	for i, t := range terms {
		out[i] = []any{t.Text, id, int32(t.LCP), sortKey, mfa.NormalizeUPN(upn), isTrue(v[3]), isTrue(v[4]),
			int16(mfa.ClassifyMethods(ms)), cov.Covered()}
	}
	return out
}

// isTrue reads a boolean as SQLite keeps it (an integer), or as a boolean.
func isTrue(v any) bool {
	switch b := v.(type) {
	case int64:
		return b != 0
	case bool:
		return b
	}
	return false
}
