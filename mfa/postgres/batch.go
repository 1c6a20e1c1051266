package postgres

import (
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.BatchSizer = (*DB)(nil)

// BulkBatch sizes bulk update's batches on PostgreSQL: up to 60,000 rows and about 8 s, where the
// embedded directory takes 30,000 and 2 s. A batch is one transaction, but PostgreSQL's holds up
// only the writers of its own users (the audit log's lock only while its records are appended), so
// it need not be short; and at a million users a batch costs a fixed amount on top of its rows (not
// the size of the shared buffers: 2 GB instead of 256 MB changed nothing): state changes at a
// million users took 105 µs of the server's CPU a row in batches of 15,000 (2 s on a loaded
// machine), 77 µs in batches of 30,000 and 60 µs in batches of 60,000 (docs/PERFORMANCE.md).
func (d *DB) BulkBatch() (int, time.Duration) { return 60000, 8 * time.Second }
