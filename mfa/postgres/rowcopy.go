package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

var bulkRowColumns = []string{"job_id", "seq", "line", "username", "from_state", "to_state", "action", "error", "warnings", "user_id"}

// rowCopy stores a job's rows as they are planned through one COPY for the whole job, fed batch
// by batch. A COPY a batch (500 for a million rows) made the writer wait twice a batch for the
// server, which, with the look-ups of the batches after it, left verify waiting on the writer.
type rowCopy struct {
	batches chan []mfa.BulkRow
	done    chan struct{} // closed when the COPY has ended; err is then set
	err     error
	n       int // rows handed to the COPY
}

// startRowCopy starts the COPY of job's rows on tx, which nothing else may use until finish.
func startRowCopy(ctx context.Context, tx pgx.Tx, job string) *rowCopy {
	c := &rowCopy{batches: make(chan []mfa.BulkRow, 4), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		var rows []mfa.BulkRow
		i := 0
		_, c.err = tx.CopyFrom(ctx, pgx.Identifier{"bulk_rows"}, bulkRowColumns, pgx.CopyFromFunc(func() ([]any, error) {
			for i == len(rows) {
				next, ok := <-c.batches
				if !ok {
					return nil, nil
				}
				rows, i = next, 0
			}
			r := &rows[i]
			i++
			return []any{job, r.Seq, r.Line, r.Username, string(r.From), string(r.To), string(r.Action),
				r.Error, mfa.EncodeWarnings(r.Warnings), parseID(r.UserID)}, nil
		}))
	}()
	return c
}

// add hands rows to the COPY (which keeps the slice); once the COPY has failed it returns why.
func (c *rowCopy) add(rows []mfa.BulkRow) error {
	select {
	case c.batches <- rows:
		c.n += len(rows)
		return nil
	case <-c.done:
		return c.err
	}
}

// finish ends the COPY after the rows handed to it and returns its error.
func (c *rowCopy) finish() error {
	close(c.batches)
	<-c.done
	return c.err
}
