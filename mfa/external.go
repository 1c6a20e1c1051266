package mfa

import (
	"context"
	"slices"
	"time"
)

// ExternalUser is a user as read from a remote directory (Microsoft Graph), for the store's local
// index of it.
type ExternalUser struct {
	// ExternalID is the user's id in the remote directory (a Graph object id).
	ExternalID     string
	UPN            string
	DisplayName    string
	AccountEnabled bool
	// StateRead says State and Methods were read at ReadAt; otherwise the indexed state and methods
	// are kept (a new user is indexed as Disabled, never read).
	StateRead bool
	State     State
	Methods   []Method
	// DefaultRead says which method is the default is known (Methods' IsDefault); otherwise the
	// indexed default is kept for a method type still registered.
	DefaultRead bool
	ReadAt      time.Time
	// PrivilegedRead says Privileged (holds an admin role) was read; otherwise the indexed flag is
	// kept (a new user is indexed as not privileged).
	PrivilegedRead bool
	Privileged     bool
	// MethodsAt, when not zero, says Methods are as of that time, older than ReadAt (the
	// registration report): they replace the indexed methods only when those were read no later.
	MethodsAt time.Time
	// CoverageRead says Coverage (Conditional Access, security defaults) was evaluated; otherwise
	// the indexed coverage is kept (a new user is indexed as not known).
	CoverageRead bool
	Coverage     Coverage
}

// ExternalIndex is a store's local index of users whose source is a remote directory: the users
// table is filled from it (then paged, searched and changed like any directory's), each user linked
// to its id there, and the state of the full reads ("syncs") that fill it is kept. The Graph
// directory (mfa/graph) needs it of its store; mfa/sqlite implements it. A user's version changes
// only when what the portal shows of it changed.
type ExternalIndex interface {
	// IndexUsers writes users read from the remote directory in one transaction: a user is found
	// by its external id (or, the first time, by its user name; another user holding that name
	// gives way) and updated, or inserted. A state read before the one indexed is older news and is
	// not applied. gen, when not 0, marks them as seen by that full sync.
	IndexUsers(ctx context.Context, users []ExternalUser, gen int64) error
	// RemoveUsersNotSynced deletes the users the complete full sync gen did not see (deleted
	// remotely, or never linked to the remote directory) and answers how many.
	RemoveUsersNotSynced(ctx context.Context, gen int64) (int64, error)
	// RemoveIndexedUser deletes one user (deleted remotely meanwhile).
	RemoveIndexedUser(ctx context.Context, upn string) error
	// ExternalIDs answers the external ids of indexed users keyed by NormalizeUPN; users not
	// linked to the remote directory are absent.
	ExternalIDs(ctx context.Context, upns []string) (map[string]string, error)

	// SyncState answers the sync's status and the generation of the running or last full sync.
	SyncState(ctx context.Context) (SyncStatus, int64, error)
	// BeginSync records that the full sync gen started at at.
	BeginSync(ctx context.Context, gen int64, at time.Time) error
	// SetSyncProgress records how many users the running sync has read, of how many.
	SetSyncProgress(ctx context.Context, done, total int) error
	// FinishSync records the end of the running sync: complete when errMsg is "" (the last sync is
	// at), failed with errMsg otherwise (the last complete sync's time is kept).
	FinishSync(ctx context.Context, at time.Time, errMsg string) error
	// FinishSyncWithWarning records a complete sync with a warning shown like an error (a part of
	// the directory could not be read and is kept as last read).
	FinishSyncWithWarning(ctx context.Context, at time.Time, warning string) error
	// SetDirectoryError records a failure to reach the remote directory outside a sync ("" clears
	// it).
	SetDirectoryError(ctx context.Context, msg string, at time.Time) error

	// SaveConditionalAccess keeps what the last sync learnt of the remote directory's Conditional
	// Access (the policies, security defaults, where registration was read from), replacing it.
	SaveConditionalAccess(ctx context.Context, s ConditionalAccessSummary) error
	// ConditionalAccess returns it (the zero summary before any sync kept one).
	ConditionalAccess(ctx context.Context) (ConditionalAccessSummary, error)
}

// NormalizeMethods is methods as a user keeps them: each type once, the default first (the first
// method is read as the default, so without one the first becomes it).
func NormalizeMethods(ms []Method) []Method {
	out := make([]Method, 0, len(ms))
	seen := map[MethodType]int{}
	for _, m := range ms {
		if i, dup := seen[m.Type]; dup {
			out[i].IsDefault = out[i].IsDefault || m.IsDefault
			continue
		}
		seen[m.Type] = len(out)
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b Method) int {
		switch {
		case a.IsDefault && !b.IsDefault:
			return -1
		case b.IsDefault && !a.IsDefault:
			return 1
		}
		return 0
	})
	for i := range out {
		out[i].IsDefault = i == 0
	}
	return out
}
