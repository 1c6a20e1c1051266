package sqlite

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.RegistrationStore = (*DB)(nil)

// awaitingRegistration is the condition of the partial index users_awaiting_registration
// (migrations/100_baseline.sql), spelled as there so that SQLite uses the index.
const awaitingRegistration = "u.state = 'enabled' AND (u.methods = '' OR u.reenabled_with_methods = 1)"

// registrationKey is the key of users_awaiting_registration: the second the user
// was enabled, then the id.
const registrationKey = "((u.enabled_at / 1000) * 1000000000 + u.id)"

// AwaitingRegistration pages the users awaiting registration by registrationKey over the partial
// index that holds only them (a seek to the cursor, whatever the ties), and counts them from it.
func (d *DB) AwaitingRegistration(ctx context.Context, f mfa.RegistrationFilter) (*mfa.RegistrationPage, error) {
	where, args := awaitingRegistration, []any{}
	if f.After != "" {
		key, err := decodeTrackerCursor(f.After)
		if err != nil {
			return nil, err
		}
		where += " AND " + registrationKey + " > ?"
		args = append(args, key)
	}
	page := &mfa.RegistrationPage{}
	if !f.NoTotal {
		if err := d.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users u INDEXED BY users_awaiting_registration WHERE "+awaitingRegistration).
			Scan(&page.Total); err != nil {
			return nil, err
		}
	}
	rows, err := d.db.QueryContext(ctx, "SELECT "+userColumns+" FROM users u INDEXED BY users_awaiting_registration WHERE "+where+
		" ORDER BY "+registrationKey+" LIMIT ?", append(args, f.Limit+1)...)
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
	key := toMillis(r.user.EnabledAt)/1000*1_000_000_000 + r.id
	return base64.RawURLEncoding.EncodeToString([]byte("r" + strconv.FormatInt(key, 10)))
}

func decodeTrackerCursor(s string) (int64, error) {
	bad := mfa.FieldErrorf("cursor", "the page cursor is not valid: start again from the first page")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 32 || !strings.HasPrefix(string(b), "r") {
		return 0, bad
	}
	key, err := strconv.ParseInt(string(b[1:]), 10, 64)
	if err != nil || key <= 0 {
		return 0, bad
	}
	return key, nil
}
