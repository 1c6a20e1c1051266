package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mfaportal/mfaportal/mfa"
)

// userWrite is a changed user to store: its row id, the user as read and as changed.
type userWrite struct {
	id            int64
	before, after *mfa.User
}

// full reports whether the change reaches the search terms or the filters (a rename, sign-in
// allowed or blocked, privileged): the row and its terms are rewritten. Otherwise (a state,
// methods or settings change: bulk update's) one narrow UPDATE stores it.
func (w userWrite) full() bool {
	b, a := w.before, w.after
	return b.UPN != a.UPN || b.DisplayName != a.DisplayName || b.AccountEnabled != a.AccountEnabled || b.Privileged != a.Privileged
}

// stampEnabled sets when the changed user became Enabled (mfa.EnabledSince): the time of a change
// of state is the time its state was set (or read, from Graph).
func stampEnabled(before, after *mfa.User) {
	at := after.StateReadAt
	if at.IsZero() {
		at = time.Now()
	}
	after.EnabledAt = mfa.EnabledSince(before, after, at)
}

// writeUsers stores changed users, each with version before.Version+1: the narrow changes of all
// of them in one statement (their counts move once), the full ones with their terms. A user
// written twice (a batch naming it twice) is stored once, as last changed, with the version of
// its last change.
func writeUsers(ctx context.Context, tx pgx.Tx, writes []userWrite) error {
	last := map[int64]int{}
	fullIDs := map[int64]bool{}
	for i, w := range writes {
		stampEnabled(w.before, w.after)
		last[w.id] = i
		if w.full() {
			fullIDs[w.id] = true
		}
	}
	var narrow narrowWrites
	var full []userWrite
	for i, w := range writes {
		if last[w.id] != i {
			continue
		}
		if fullIDs[w.id] {
			full = append(full, w)
		} else {
			narrow.add(w)
		}
	}
	if len(narrow.ids) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE users u SET state = v.state, methods = v.methods, app_passwords = v.app_passwords,
			remembered_not_before = v.remembered_not_before, reenabled_with_methods = v.reenabled, state_read_at = v.state_read_at,
			enabled_at = v.enabled_at, ca_status = v.ca_status, ca_policies = v.ca_policies, security_defaults = v.security_defaults,
			version = v.version
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[], $5::bigint[], $6::boolean[], $7::bigint[], $8::bigint[],
				$9::bigint[], $10::text[], $11::text[], $12::boolean[])
				AS v (id, state, methods, app_passwords, remembered_not_before, reenabled, state_read_at, version, enabled_at,
					ca_status, ca_policies, security_defaults)
			WHERE u.id = v.id`,
			narrow.ids, narrow.states, narrow.methods, narrow.appPasswords, narrow.notBefore, narrow.reenabled, narrow.readAt, narrow.versions,
			narrow.enabledAt, narrow.caStatus, narrow.caPolicies, narrow.secDefaults); err != nil {
			return err
		}
	}
	for _, w := range full {
		if err := rewriteUser(ctx, tx, w.id, w.after, w.before.Version+1); err != nil {
			return err
		}
	}
	return nil
}

// narrowWrites are the columns of narrow writes, as arrays for unnest.
type narrowWrites struct {
	ids, notBefore, readAt, versions, enabledAt []int64
	states, methods, caStatus, caPolicies       []string
	appPasswords                                []int32
	reenabled, secDefaults                      []bool
}

func (n *narrowWrites) add(w userWrite) {
	a := w.after
	n.ids = append(n.ids, w.id)
	n.states = append(n.states, string(a.State))
	n.methods = append(n.methods, mfa.FormatMethodList(a.Methods))
	n.appPasswords = append(n.appPasswords, int32(a.AppPasswords))
	n.notBefore = append(n.notBefore, toMillis(a.RememberedDevicesNotBefore))
	n.reenabled = append(n.reenabled, a.HadMethodsWhenReenabled)
	n.readAt = append(n.readAt, toMillis(a.StateReadAt))
	n.versions = append(n.versions, w.before.Version+1)
	n.enabledAt = append(n.enabledAt, toMillis(a.EnabledAt))
	n.caStatus = append(n.caStatus, string(a.Coverage.Status))
	n.caPolicies = append(n.caPolicies, encodePolicies(a.Coverage.Policies))
	n.secDefaults = append(n.secDefaults, a.Coverage.SecurityDefaults)
}

// rewriteUser rewrites a user's row and search terms: the old terms go first (their counts are
// taken off under the user's old filters), the new ones after the row (counted under the new).
func rewriteUser(ctx context.Context, tx pgx.Tx, id int64, u *mfa.User, version int64) error {
	if _, err := tx.Exec(ctx, "DELETE FROM user_terms WHERE user_id = $1", id); err != nil {
		return err
	}
	sortKey, terms := mfa.UserTerms(u.DisplayName, u.UPN)
	_, err := tx.Exec(ctx, `UPDATE users SET upn = $1, upn_key = $2, display_name = $3, sort_key = $4,
		account_enabled = $5, privileged = $6, state = $7, methods = $8, app_passwords = $9, remembered_not_before = $10,
		reenabled_with_methods = $11, state_read_at = $12, enabled_at = $13, version = $14,
		ca_status = $16, ca_policies = $17, security_defaults = $18 WHERE id = $15`,
		u.UPN, mfa.NormalizeUPN(u.UPN), u.DisplayName, sortKey, u.AccountEnabled, u.Privileged, string(u.State),
		mfa.FormatMethodList(u.Methods), u.AppPasswords, toMillis(u.RememberedDevicesNotBefore), u.HadMethodsWhenReenabled,
		toMillis(u.StateReadAt), toMillis(u.EnabledAt), version, id,
		string(u.Coverage.Status), encodePolicies(u.Coverage.Policies), u.Coverage.SecurityDefaults)
	if isUniqueViolation(err) {
		return mfa.Errorf(mfa.ECONFLICT, "user %s already exists", u.UPN)
	}
	if err != nil {
		return err
	}
	var t termColumns
	t.add(id, sortKey, u, terms)
	return t.insert(ctx, tx)
}

// termColumns are user_terms rows as arrays for unnest: each term with its user's sort keys and
// filter columns but the state (methods_class as users computes it: TestMethodsClassMatchesSQL).
type termColumns struct {
	terms, sortKeys, upnKeys     []string
	userIDs                      []int64
	lcps                         []int32
	enabled, privileged, covered []bool
	classes                      []int16
}

func (t *termColumns) add(id int64, sortKey string, u *mfa.User, terms []mfa.Term) {
	key, class := mfa.NormalizeUPN(u.UPN), int16(mfa.ClassifyMethods(u.Methods))
	for _, term := range terms {
		t.terms = append(t.terms, term.Text)
		t.userIDs = append(t.userIDs, id)
		t.lcps = append(t.lcps, int32(term.LCP))
		t.sortKeys = append(t.sortKeys, sortKey)
		t.upnKeys = append(t.upnKeys, key)
		t.enabled = append(t.enabled, u.AccountEnabled)
		t.privileged = append(t.privileged, u.Privileged)
		t.classes = append(t.classes, class)
		t.covered = append(t.covered, u.Coverage.Covered())
	}
}

func (t *termColumns) insert(ctx context.Context, tx pgx.Tx) error {
	if len(t.terms) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO user_terms (term, user_id, lcp, sort_key, upn_key, account_enabled, privileged, methods_class,
		ca_covered) SELECT * FROM unnest($1::text[], $2::bigint[], $3::integer[], $4::text[], $5::text[], $6::boolean[], $7::boolean[],
		$8::smallint[], $9::boolean[])`,
		t.terms, t.userIDs, t.lcps, t.sortKeys, t.upnKeys, t.enabled, t.privileged, t.classes, t.covered)
	return err
}

// insertUsers adds new users (State "" is Disabled) with their terms, read at their StateReadAt
// or else now, in one statement each; it returns their ids in order. A user name taken is ECONFLICT naming it.
func insertUsers(ctx context.Context, tx pgx.Tx, users []*mfa.User, now time.Time) ([]int64, error) {
	if len(users) == 0 {
		return nil, nil
	}
	// Ids first, so that users and terms are each written by one statement.
	rows, err := tx.Query(ctx, "SELECT nextval(pg_get_serial_sequence('users', 'id')) FROM generate_series(1, $1)", len(users))
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	var c struct {
		upns, keys, names, sortKeys, states, methods []string
		caStatus, caPolicies                         []string
		enabled, privileged, reenabled, secDefaults  []bool
		appPasswords                                 []int32
		notBefore, readAt, enabledAt                 []int64
	}
	var terms termColumns
	for i, u := range users {
		if u.State == "" {
			u.State = mfa.StateDisabled
		}
		sortKey, ts := mfa.UserTerms(u.DisplayName, u.UPN)
		c.upns, c.keys, c.names = append(c.upns, u.UPN), append(c.keys, mfa.NormalizeUPN(u.UPN)), append(c.names, u.DisplayName)
		c.sortKeys, c.states = append(c.sortKeys, sortKey), append(c.states, string(u.State))
		c.methods = append(c.methods, mfa.FormatMethodList(u.Methods))
		c.enabled, c.privileged = append(c.enabled, u.AccountEnabled), append(c.privileged, u.Privileged)
		c.reenabled = append(c.reenabled, u.HadMethodsWhenReenabled)
		c.appPasswords = append(c.appPasswords, int32(u.AppPasswords))
		at := now
		if !u.StateReadAt.IsZero() {
			at = u.StateReadAt
		}
		c.notBefore, c.readAt = append(c.notBefore, toMillis(u.RememberedDevicesNotBefore)), append(c.readAt, toMillis(at))
		c.enabledAt = append(c.enabledAt, toMillis(enabledOnInsert(u, at)))
		c.caStatus, c.caPolicies = append(c.caStatus, string(u.Coverage.Status)), append(c.caPolicies, encodePolicies(u.Coverage.Policies))
		c.secDefaults = append(c.secDefaults, u.Coverage.SecurityDefaults)
		terms.add(ids[i], sortKey, u, ts)
	}
	_, err = tx.Exec(ctx, `INSERT INTO users (id, upn, upn_key, display_name, sort_key, account_enabled, privileged, state,
		methods, app_passwords, remembered_not_before, reenabled_with_methods, state_read_at, enabled_at, methods_read_at,
		ca_status, ca_policies, security_defaults)
		SELECT id, upn, upn_key, display_name, sort_key, account_enabled, privileged, state, methods, app_passwords, remembered_not_before,
			reenabled, state_read_at, enabled_at, state_read_at, ca_status, ca_policies, security_defaults
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::boolean[],
			$8::text[], $9::text[], $10::integer[], $11::bigint[], $12::boolean[], $13::bigint[], $14::bigint[], $15::text[], $16::text[],
			$17::boolean[]) AS v (id, upn, upn_key, display_name, sort_key, account_enabled, privileged, state, methods, app_passwords,
			remembered_not_before, reenabled, state_read_at, enabled_at, ca_status, ca_policies, security_defaults)`,
		ids, c.upns, c.keys, c.names, c.sortKeys, c.enabled, c.privileged, c.states, c.methods, c.appPasswords,
		c.notBefore, c.reenabled, c.readAt, c.enabledAt, c.caStatus, c.caPolicies, c.secDefaults)
	if err != nil {
		return nil, conflict(err)
	}
	return ids, terms.insert(ctx, tx)
}

// enabledOnInsert is when a new user became Enabled: now, unless it says since when (the demo
// tenant does); zero when it is not Enabled.
func enabledOnInsert(u *mfa.User, now time.Time) time.Time {
	switch {
	case u.State != mfa.StateEnabled:
		return time.Time{}
	case u.EnabledAt.IsZero():
		return now
	}
	return u.EnabledAt
}

// conflict turns a unique violation on a user name into ECONFLICT naming the user.
func conflict(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		return err
	}
	name := "a user"
	// Detail reads: Key (upn_key)=(ada@contoso.com) already exists.
	if _, rest, ok := strings.Cut(pe.Detail, ")=("); ok {
		if key, _, ok := strings.Cut(rest, ") already exists"); ok {
			name = "user " + key
		}
	}
	return mfa.Errorf(mfa.ECONFLICT, "%s already exists", name)
}
