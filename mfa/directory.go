package mfa

import (
	"context"
	"time"
)

// Directory is where users and their MFA states live: the embedded SQLite directory or Microsoft
// Graph (through its local index). Implementations are safe for concurrent use.
type Directory interface {
	// FindUsers returns one page of users matching f (already validated), sorted by folded display
	// name then id, with the total count of matching users. A malformed cursor is EINVALID.
	FindUsers(ctx context.Context, f UserFilter) (*UserPage, error)
	// FindUser returns the user with the given UPN (case-insensitive); ENOTFOUND if there is none.
	FindUser(ctx context.Context, upn string) (*User, error)
	// Ping answers nil when the directory can be read (for /readyz).
	Ping(ctx context.Context) error
	// UpdateUser runs fn on the user's current record and, if fn returns an audit record, stores the
	// changed user (its version increased) and appends the record, atomically. It returns the user as
	// stored afterwards. ENOTFOUND if there is no such user; fn's error is returned as is.
	UpdateUser(ctx context.Context, upn string, fn UserUpdate) (*User, error)
}

// UserImporter is implemented by directories that can create users (the embedded directory).
type UserImporter interface {
	// ImportUsers creates or updates every user in one transaction: all or nothing. Columns absent
	// from the file leave existing users' values as they are. For each user created or changed,
	// record (if not nil) gives the audit record to append in the same transaction, from the user
	// before (nil when created) and after.
	ImportUsers(ctx context.Context, users []ImportUser, cols ImportColumns, now time.Time, record ImportRecorder) (ImportResult, error)
}

// ImportRecorder makes the audit record of one user's import; before is nil for a new user.
type ImportRecorder func(before, after *User) *AuditRecord

// ImportResult counts what an import did.
type ImportResult struct {
	Created, Updated int
	Notice           string // UserImport.Notice: how the file was read, set by Service.ImportUsers
}
