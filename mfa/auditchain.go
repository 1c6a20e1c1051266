package mfa

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// The audit chain (SPEC §9): each record's Hash is HMAC-SHA256, keyed with a key kept outside the
// store (MFAPORTAL_AUDIT_KEY or DATA/audit.key), over its content and the previous record's hash.
// Without the key nobody can recompute the chain after changing a record, as they could with the
// plain SHA-256 chain of earlier versions (AuditChainLegacy), which the store re-chains once.
const (
	AuditChainHMAC   = "hmac-sha256"
	AuditChainLegacy = "sha256"
)

// SystemActor is the portal itself, the actor of its own upgrade steps.
var SystemActor = Actor{Name: "mfaportal", Method: "system"}

// MinAuditKeyLen is the shortest audit key accepted, in bytes.
const MinAuditKeyLen = 32

// ErrAuditMarkedLegacy refuses a log marked as chained the legacy way (SHA-256, no key) although
// the id of the key it was chained with is kept beside it: the chain was recomputed without the
// key and the mark changed back, so that it would verify, or be re-chained under the key with the
// forgery in it.
var ErrAuditMarkedLegacy = &Error{Code: EINVALID, Message: "the audit log is marked as chained with plain SHA-256 although it was chained " +
	"with the audit key (the key's id is kept beside it): its chain was recomputed without the key. It is not re-chained; " +
	"compare it with the audit stream (mfaportal audit verify --against FILE) to find the records changed"}

// AuditKeyID identifies an audit key without revealing it (an HMAC of a fixed text under it): a
// store keeps it beside its log, to refuse a second key even before the log has a record.
func AuditKeyID(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("mfaportal audit key id"))
	return hex.EncodeToString(m.Sum(nil))
}

// AuditLookupKey is how the store keeps a name for lookups (the actor and target filters, a
// user's history): lower-cased.
func AuditLookupKey(s string) string { return strings.ToLower(s) }

// ComputeHash is the record's hash under key: HMAC-SHA256 over its content (every field but Hash,
// including the lookup keys, in a fixed order, time in Unix milliseconds). With a nil key it is
// the legacy chain's SHA-256 over the fields of that time (no lookup keys).
func (r *AuditRecord) ComputeHash(key []byte) string {
	if key == nil {
		b, _ := json.Marshal([]any{r.Seq, r.Time.UnixMilli(), r.ActorName, string(r.ActorRole), r.ActorMethod, r.Action, r.Target,
			r.Before, r.After, r.Source, r.Reason, r.ClientIP, r.Outcome, r.PrevHash})
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:])
	}
	b, _ := json.Marshal([]any{"v2", r.Seq, r.Time.UnixMilli(), r.ActorName, r.ActorKey, string(r.ActorRole), r.ActorMethod,
		r.Action, r.Target, r.TargetKey, r.Before, r.After, r.Source, r.Reason, r.ClientIP, r.Outcome, r.PrevHash})
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// Seal sets the record's place in the chain: its lookup keys, its sequence number, the previous
// hash and its hash under key.
func (r *AuditRecord) Seal(key []byte, seq int64, prevHash string) {
	r.ActorKey, r.TargetKey = AuditLookupKey(r.ActorName), AuditLookupKey(r.Target)
	r.Seq, r.PrevHash = seq, prevHash
	r.Hash = r.ComputeHash(key)
}

// ChainVerifier checks records one by one in sequence order, under Key (nil: the legacy chain).
type ChainVerifier struct {
	Key     []byte
	prev    string
	nextSeq int64
	Checked int64
}

// Check answers nil if r follows the records checked before it, or an EINVALID error that names
// r and says what is wrong with it: tampering, never an internal error.
func (v *ChainVerifier) Check(r *AuditRecord) error {
	if v.nextSeq == 0 {
		v.nextSeq = 1
	}
	switch {
	case r.Seq != v.nextSeq:
		return Errorf(EINVALID, "record %d: expected record %d here: a record was removed or reordered", r.Seq, v.nextSeq)
	case r.PrevHash != v.prev:
		return Errorf(EINVALID, "record %d: its previous-hash does not match record %d's hash: the chain was altered", r.Seq, r.Seq-1)
	case r.ActorKey != AuditLookupKey(r.ActorName) || r.TargetKey != AuditLookupKey(r.Target):
		return Errorf(EINVALID, "record %d: its lookup key (what the actor and user filters find it by) was changed, so histories would hide it", r.Seq)
	case !hmac.Equal([]byte(r.ComputeHash(v.Key)), []byte(r.Hash)):
		what := "its content does not match its HMAC: the record was altered, or the chain recomputed without the audit key"
		if v.Key == nil {
			what = "its content does not match its hash: the record was altered"
		}
		return Errorf(EINVALID, "record %d: %s", r.Seq, what)
	}
	v.prev, v.nextSeq = r.Hash, r.Seq+1
	v.Checked++
	return nil
}

// AuditTampered is the error for a record whose stored columns cannot even be read as a record
// (a number replaced by text, a NULL): tampering, reported as such.
func AuditTampered(seq int64, column string) error {
	return Errorf(EINVALID, "record %d: its %s column holds a value the portal never writes: the record was altered", seq, column)
}
