package graph

import (
	"context"

	"github.com/mfaportal/mfaportal/mfa"
)

// Store is what the Graph directory needs of the portal's own store (SQLite, or PostgreSQL): the
// users table it lists, searches and pages (the local index of the tenant, filled by the sync and
// updated from Graph's answers), the tenant's users linked to their Graph ids with the sync's state
// (mfa.ExternalIndex), the audit log, and the settings Graph has no API for.
//
// It is made of the domain's interfaces and types only, so that no store imports this package (nor
// the SDK behind it): mfa/sqlite asserts mfa.ExternalIndex at compile time, and cmd/mfaportal
// passing its store to New checks the whole of Store.
type Store interface {
	mfa.Directory     // FindUsers, FindUser, Ping, UpdateUser: the index as the pages see it
	mfa.UserLookup    // FindUsersByUPN: a bulk batch's users
	mfa.PlanLookup    // LookupForPlan: planning a bulk file
	mfa.BatchUpdater  // UpdateUsers: storing a bulk batch as Graph answered it
	mfa.ExternalIndex // the users read from Graph, their Graph ids, and the sync's state
	// WorkRequestStore carries "sync now" from any replica to the one that syncs (Run).
	mfa.WorkRequestStore

	// AppendAudit appends a record that is not a user update: a change Graph refused.
	AppendAudit(ctx context.Context, r *mfa.AuditRecord) error
	// LoadSettings and SaveSettings keep the service settings (those Graph has no API for are
	// shown as kept here).
	LoadSettings(ctx context.Context) (mfa.Settings, error)
	SaveSettings(ctx context.Context, fn func(cur mfa.Settings) (mfa.Settings, *mfa.AuditRecord, error)) (mfa.Settings, error)
	// CountUsers is the number of users indexed: the tenant's size as last synced.
	CountUsers(ctx context.Context) (int, error)
	// Meta, SetMeta and DeleteMeta keep the portal's own small values: here the bulk writes sent
	// to Graph whose answer has not come (unsure), so that the process or replica that resumes a
	// job after a stop knows them.
	Meta(ctx context.Context, key string) (string, error)
	SetMeta(ctx context.Context, key, value string) error
	DeleteMeta(ctx context.Context, keys ...string) error
}
