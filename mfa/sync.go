package mfa

import (
	"context"
	"time"
)

// SyncStatus is the state of the local index of a remote directory (Microsoft Graph): when it was
// last read in full, whether a sync runs now and how far it got, and the last failure.
type SyncStatus struct {
	Running   bool
	Done      int       // users read by the running sync
	Total     int       // users in the directory, as it announced them (0 if unknown)
	StartedAt time.Time // of the running sync, or of the last one
	// LastSync is when the last complete full sync finished (zero: never).
	LastSync time.Time
	// LastError is why the last sync, or the last call to the directory, failed ("" after a
	// success); LastErrorAt is when.
	LastError   string
	LastErrorAt time.Time
	// Notice is something the admin should know about how the last sync read the directory that is
	// not a failure (e.g. registered methods read one user at a time, without the licence for the
	// registration report).
	Notice string
}

// DirectorySync is implemented by directories that list users from a local index of a remote
// directory (Microsoft Graph) and refresh it in the background.
type DirectorySync interface {
	// SyncStatus returns the index's status.
	SyncStatus(ctx context.Context) (SyncStatus, error)
	// StartSync starts a full sync in the background and returns at once; ECONFLICT if one is
	// already running.
	StartSync(ctx context.Context) error
}

// SyncStatus returns the status of the directory's local index, or nil when the directory is not
// an index of another (the embedded directory). Any role may see it.
func (s *Service) SyncStatus(ctx context.Context, actor Actor) (*SyncStatus, error) {
	if err := actor.Require(PermView); err != nil {
		return nil, err
	}
	ds := s.dirSync
	if ds == nil {
		return nil, nil
	}
	st, err := ds.SyncStatus(ctx)
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// StartSync starts a full sync of the directory's local index ("sync now"): for the roles that may
// run a bulk update. EUNAVAILABLE when the directory has no index; ECONFLICT when a sync runs.
func (s *Service) StartSync(ctx context.Context, actor Actor) error {
	if err := actor.Require(PermBulkUpdate); err != nil {
		return err
	}
	ds := s.dirSync
	if ds == nil {
		return Errorf(EUNAVAILABLE, "this directory is not synchronized from another: there is nothing to sync")
	}
	return ds.StartSync(ctx)
}
