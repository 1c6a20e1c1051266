package mfa

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
)

// AuditComparison is what `audit verify --against FILE` found, comparing the database's records
// with the JSON-lines stream written as they were (MFAPORTAL_AUDIT_FILE).
type AuditComparison struct {
	Database, File int64 // records read from each
	// Missing are in the file but not in the database (deleted), Added in the database but not in
	// the file (inserted; or, after the file's last record, written since), Changed in both but
	// different. Each keeps its first MaxAuditDifferences sequence numbers and counts the rest.
	Missing, Added, Changed AuditDifferences
	// Chain is the database's own chain check (nil: intact), FileChain the file's.
	Chain, FileChain error
	// FileFirst and FileLast are the sequence numbers of the file's first and last records.
	FileFirst, FileLast int64
	// Before counts the database's records older than the file's first: a rotated stream starts
	// after record 1, and what came before it is in the files rotated away, not compared here.
	Before int64
}

// MaxAuditDifferences is how many sequence numbers of each kind of difference are kept.
const MaxAuditDifferences = 20

// AuditDifferences lists differing records by sequence number.
type AuditDifferences struct {
	Seqs  []int64
	Count int64
}

func (d *AuditDifferences) add(seq int64) {
	d.Count++
	if len(d.Seqs) < MaxAuditDifferences {
		d.Seqs = append(d.Seqs, seq)
	}
}

// Intact reports whether the database and the file agree and both chains hold.
func (c *AuditComparison) Intact() bool {
	return c.Missing.Count == 0 && c.Added.Count == 0 && c.Changed.Count == 0 && c.Chain == nil && c.FileChain == nil
}

// CompareAudit checks the database's chain and compares it, record by record, with a JSON-lines
// stream of the log. Both are read in sequence order side by side, so memory stays small however
// long the log. The file may start after record 1 (a rotated stream) and may repeat a record
// (written twice by two processes); a line that is not a record is a file error.
func (s *Service) CompareAudit(ctx context.Context, actor Actor, stream io.Reader) (*AuditComparison, error) {
	if err := actor.Require(PermView); err != nil {
		return nil, err
	}
	file := newAuditFileReader(stream, s.AuditKey)
	c := &AuditComparison{}
	next := file.next()
	if next != nil {
		c.FileFirst = next.Seq
	}
	chain := ChainVerifier{Key: s.AuditKey}
	err := s.Audit.EachAudit(ctx, 0, func(r *AuditRecord) error {
		c.Database++
		if c.Chain == nil {
			c.Chain = chain.Check(r)
		}
		for ; next != nil && next.Seq < r.Seq; next = file.next() {
			c.Missing.add(next.Seq)
		}
		if r.Seq < c.FileFirst {
			c.Before++ // older than the file (rotated): the chain check above covers it
			return nil
		}
		if next == nil || next.Seq > r.Seq {
			c.Added.add(r.Seq)
			return nil
		}
		if !sameAuditRecord(r, next) {
			c.Changed.add(r.Seq)
		}
		next = file.next()
		return nil
	})
	if ErrorCode(err) == EINVALID && c.Chain == nil {
		c.Chain, err = err, nil // a record that cannot be read: the chain check's finding
	}
	if err != nil {
		return nil, err
	}
	for ; next != nil; next = file.next() {
		c.Missing.add(next.Seq)
	}
	c.File, c.FileLast, c.FileChain = file.records, file.last, cmpOr(file.problem, file.chainErr)
	return c, nil
}

// sameAuditRecord compares every field the chain covers, and the hashes.
func sameAuditRecord(a, b *AuditRecord) bool {
	return a.Seq == b.Seq && a.Time.Equal(b.Time) && a.ActorName == b.ActorName && a.ActorKey == b.ActorKey &&
		a.ActorRole == b.ActorRole && a.ActorMethod == b.ActorMethod && a.Action == b.Action && a.Target == b.Target &&
		a.TargetKey == b.TargetKey && a.Before == b.Before && a.After == b.After && a.Source == b.Source &&
		a.Reason == b.Reason && a.ClientIP == b.ClientIP && a.Outcome == b.Outcome && a.PrevHash == b.PrevHash && a.Hash == b.Hash
}

// auditFileReader reads a JSON-lines stream in order, skipping records written again as they
// were (a batch of the stream repeated when two processes streamed at once, or a position not
// recorded before a crash), and checks the file's own chain.
type auditFileReader struct {
	sc       *bufio.Scanner
	line     int
	prev     *AuditRecord
	records  int64
	last     int64
	chain    ChainVerifier
	chainErr error
	problem  error                  // a line that is not a record, or out of order: reading stops there
	recent   map[int64]*AuditRecord // the last records read, to recognise one written again
	order    []int64
}

func newAuditFileReader(r io.Reader, key []byte) *auditFileReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	return &auditFileReader{sc: sc, chain: ChainVerifier{Key: key}, recent: map[int64]*AuditRecord{}}
}

// next returns the next record, nil at the end or at a problem (kept in f.problem).
func (f *auditFileReader) next() *AuditRecord {
	if f.problem != nil {
		return nil
	}
	r, err := f.read()
	if err != nil {
		f.problem = err
		return nil
	}
	return r
}

func (f *auditFileReader) read() (*AuditRecord, error) {
	for f.sc.Scan() {
		f.line++
		if len(f.sc.Bytes()) == 0 {
			continue
		}
		var r AuditRecord
		if err := json.Unmarshal(f.sc.Bytes(), &r); err != nil || r.Seq <= 0 {
			return nil, Errorf(EINVALID, "the audit file's line %d is not an audit record", f.line)
		}
		r.Time = r.Time.UTC()
		r.ActorKey, r.TargetKey = AuditLookupKey(r.ActorName), AuditLookupKey(r.Target)
		if f.prev != nil && r.Seq <= f.prev.Seq {
			if seen := f.recent[r.Seq]; seen != nil && sameAuditRecord(&r, seen) {
				continue // written again
			}
			return nil, Errorf(EINVALID, "the audit file's line %d holds record %d after record %d: the file is out of order or was edited", f.line, r.Seq, f.prev.Seq)
		}
		f.recent[r.Seq] = &r
		if f.order = append(f.order, r.Seq); len(f.order) > 2*auditStreamBatch {
			delete(f.recent, f.order[0])
			f.order = f.order[1:]
		}
		if f.chainErr == nil {
			if f.prev == nil { // the file may start later than record 1
				f.chain.prev, f.chain.nextSeq = r.PrevHash, r.Seq
			}
			f.chainErr = f.chain.Check(&r)
		}
		f.prev, f.last = &r, r.Seq
		f.records++
		return &r, nil
	}
	if err := f.sc.Err(); err != nil {
		return nil, Errorf(EINVALID, "the audit file cannot be read after line %d: %v", f.line, err)
	}
	return nil, nil
}
