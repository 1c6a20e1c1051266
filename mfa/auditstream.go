package mfa

import (
	"context"
	"sync"
	"time"
)

// AuditSink receives audit records in sequence order as they are written: the JSON-lines file
// (MFAPORTAL_AUDIT_FILE) and syslog. A copy outside the database is what finds the newest
// records deleted (`audit verify --against FILE`).
type AuditSink interface {
	// Name identifies the sink and so its position: "file:/var/log/mfaportal/audit.jsonl".
	Name() string
	// WriteAudit writes records (in sequence order) and returns once they are written.
	WriteAudit(records []*AuditRecord) error
}

// AuditPositions keeps how far each sink has been written, so that a restart (or another process,
// such as a command) goes on where the last one stopped and none is skipped.
type AuditPositions interface {
	// AuditStreamed returns the sequence number of the last record written to sink, 0 for none.
	AuditStreamed(ctx context.Context, sink string) (int64, error)
	// SetAuditStreamed moves sink's position from old to new; false when another process moved
	// it meanwhile (the records may then be written twice, never skipped).
	SetAuditStreamed(ctx context.Context, sink string, old, new int64) (bool, error)
}

// AuditStreamer copies the audit log to its sinks: woken after each commit that appended records
// (and every few seconds, for records another process wrote), it writes to each sink the records
// after that sink's position, a thousand at a time.
type AuditStreamer struct {
	Log       AuditLog
	Positions AuditPositions
	Sinks     []AuditSink
	// OnError reports a sink that failed (and, with a nil error, one that works again).
	OnError func(sink string, err error)

	wake    chan struct{}
	once    sync.Once
	failing map[string]bool
	mu      sync.Mutex // one catch-up at a time
}

// auditStreamBatch is how many records one write takes.
const auditStreamBatch = 1000

func (s *AuditStreamer) init() {
	s.once.Do(func() {
		s.wake = make(chan struct{}, 1)
		s.failing = map[string]bool{}
	})
}

// Wake asks Run to catch up now; it never blocks.
func (s *AuditStreamer) Wake() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run catches up whenever woken and every two seconds until ctx ends, then once more.
func (s *AuditStreamer) Run(ctx context.Context) {
	s.init()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		s.CatchUp(ctx)
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			s.CatchUp(final)
			cancel()
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// CatchUp writes to every sink the records after its position. It answers the first sink's error.
func (s *AuditStreamer) CatchUp(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, sink := range s.Sinks {
		err := s.catchUp(ctx, sink)
		if s.OnError != nil && (err != nil) != s.failing[sink.Name()] {
			s.OnError(sink.Name(), err)
		}
		s.failing[sink.Name()] = err != nil
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *AuditStreamer) catchUp(ctx context.Context, sink AuditSink) error {
	pos, err := s.Positions.AuditStreamed(ctx, sink.Name())
	if err != nil {
		return err
	}
	var batch []*AuditRecord
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := sink.WriteAudit(batch); err != nil {
			return err
		}
		last := batch[len(batch)-1].Seq
		// Written: record it even if ctx ends now, or the batch would be written again.
		ctx := context.WithoutCancel(ctx)
		moved, err := s.Positions.SetAuditStreamed(ctx, sink.Name(), pos, last)
		if err != nil {
			return err
		}
		if !moved { // another process streams too: go on from where it is
			if pos, err = s.Positions.AuditStreamed(ctx, sink.Name()); err != nil {
				return err
			}
			if pos < last {
				if _, err := s.Positions.SetAuditStreamed(ctx, sink.Name(), pos, last); err != nil {
					return err
				}
			}
		}
		pos = max(pos, last)
		batch = batch[:0]
		return nil
	}
	err = s.Log.EachAudit(ctx, pos, func(r *AuditRecord) error {
		batch = append(batch, r)
		if len(batch) == auditStreamBatch {
			return flush()
		}
		return nil
	})
	if ferr := flush(); err == nil {
		err = ferr
	}
	return err
}
