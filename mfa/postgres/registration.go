package postgres

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.RegistrationStore = (*DB)(nil)

// awaitingRegistration is the condition of the partial index users_awaiting_registration, spelled
// as there so that PostgreSQL uses the index.
const awaitingRegistration = "u.state = 'enabled' AND (u.methods = '' OR u.reenabled_with_methods)"

// AwaitingRegistration pages the users awaiting registration by (enabled_at, id) over the partial
// index that holds only them (a seek to the cursor), and counts them from it.
func (d *DB) AwaitingRegistration(ctx context.Context, f mfa.RegistrationFilter) (*mfa.RegistrationPage, error) {
	a := &args{}
	where := awaitingRegistration
	if f.After != "" {
		at, id, err := decodeTrackerCursor(f.After)
		if err != nil {
			return nil, err
		}
		where += " AND (u.enabled_at, u.id) > (" + a.add(at) + ", " + a.add(id) + ")"
	}
	page := &mfa.RegistrationPage{}
	if !f.NoTotal {
		if err := d.pool.QueryRow(ctx, "SELECT count(*) FROM users u WHERE "+awaitingRegistration).Scan(&page.Total); err != nil {
			return nil, err
		}
	}
	rows, err := d.pool.Query(ctx, "SELECT "+userColumns+" FROM users u WHERE "+where+" ORDER BY u.enabled_at, u.id LIMIT "+a.add(f.Limit+1), a.vals...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var last row
	for rows.Next() {
		r, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		if len(page.Users) == f.Limit {
			page.NextCursor = encodeTrackerCursor(last)
			break
		}
		page.Users = append(page.Users, r.user)
		last = r
	}
	return page, rows.Err()
}

func encodeTrackerCursor(r row) string {
	return base64.RawURLEncoding.EncodeToString([]byte("r" + strconv.FormatInt(toMillis(r.user.EnabledAt), 10) + "." + strconv.FormatInt(r.id, 10)))
}

func decodeTrackerCursor(s string) (at, id int64, err error) {
	bad := mfa.FieldErrorf("cursor", "the page cursor is not valid: start again from the first page")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 48 || !strings.HasPrefix(string(b), "r") {
		return 0, 0, bad
	}
	a, i, ok := strings.Cut(string(b[1:]), ".")
	at, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(i, 10, 64)
	if !ok || err1 != nil || err2 != nil || at < 0 || id <= 0 {
		return 0, 0, bad
	}
	return at, id, nil
}
