package mfa

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// Audit actions. Each change is recorded once under one of these.
const (
	AuditEnable        = "state.enable"
	AuditEnforce       = "state.enforce"
	AuditDisable       = "state.disable"
	AuditResetUser     = "user.reset" // manage user settings
	AuditSaveSettings  = "settings.save"
	AuditBulkStart     = "bulk.start"
	AuditBulkCancel    = "bulk.cancel"
	AuditAccountAdd    = "account.add"
	AuditAccountPasswd = "account.passwd"
	AuditAccountRemove = "account.remove"
	AuditTokenCreate   = "token.create"
	AuditTokenRevoke   = "token.revoke"
	AuditRechain       = "audit.rechain" // the log re-chained with the audit key (once, on upgrade)
	// The registration tab (notify.go): a registration email sent to a user, the template saved.
	AuditNotify         = "user.notify"
	AuditNotifyTemplate = "notify.template"
)

// Audit actions of the end users' security info (SPEC §7) and of users import. A user's own
// changes are recorded with the user as actor (UserActor).
const (
	AuditSetupLink         = "user.setup-link"
	AuditPasswordSet       = "user.password-set"
	AuditMethodAdd         = "method.add"
	AuditMethodDelete      = "method.delete"
	AuditMethodDefault     = "method.default"
	AuditAppPasswordCreate = "app-password.create"
	AuditAppPasswordDelete = "app-password.delete"
	AuditUserImport        = "user.import"
)

// AuditActions lists the actions for the audit log's filter.
var AuditActions = []string{AuditEnable, AuditEnforce, AuditDisable, AuditResetUser, AuditSaveSettings,
	AuditBulkStart, AuditBulkCancel, AuditAccountAdd, AuditAccountPasswd, AuditAccountRemove, AuditTokenCreate, AuditTokenRevoke,
	AuditSetupLink, AuditPasswordSet, AuditMethodAdd, AuditMethodDelete, AuditMethodDefault, AuditAppPasswordCreate,
	AuditAppPasswordDelete, AuditUserImport, AuditRechain, AuditNotify, AuditNotifyTemplate,
	AuditAccountMFAEnrol, AuditAccountMFARemove, AuditAccountMFAReset,
	AuditExemptionStart, AuditExemptionEnd, AuditBulkDiscard}

// AuditLabels are the actions in words, as the audit log page and the user pages show them (the
// CSV export and the API keep the codes). Every action in AuditActions needs one: a test fails
// for an action without a label.
var AuditLabels = map[string]string{
	AuditEnable:        "enabled MFA",
	AuditEnforce:       "enforced MFA",
	AuditDisable:       "disabled MFA",
	AuditResetUser:     "reset user settings",
	AuditSaveSettings:  "saved service settings",
	AuditBulkStart:     "started a bulk update",
	AuditBulkCancel:    "cancelled a bulk update",
	AuditAccountAdd:    "added a local account",
	AuditAccountPasswd: "changed a local account's password",
	AuditAccountRemove: "removed a local account",
	AuditTokenCreate:   "created an API token",
	AuditTokenRevoke:   "revoked an API token",
	// The end users' security info (SPEC §7) and users import.
	AuditSetupLink:         "created a setup link",
	AuditPasswordSet:       "set their password",
	AuditMethodAdd:         "added a sign-in method",
	AuditMethodDelete:      "deleted a sign-in method",
	AuditMethodDefault:     "changed the default sign-in method",
	AuditAppPasswordCreate: "created an app password",
	AuditAppPasswordDelete: "deleted an app password",
	AuditUserImport:        "imported the user",
	// Running in production (SPEC §9).
	AuditRechain: "re-chained the audit log with the audit key",
	// The registration tab.
	AuditNotify:         "sent a registration email",
	AuditNotifyTemplate: "saved the registration email",
	// The local accounts' authenticator apps.
	AuditAccountMFAEnrol:  "enrolled an authenticator app",
	AuditAccountMFARemove: "removed their authenticator app",
	AuditAccountMFAReset:  "reset a local account's authenticator app",
	AuditExemptionStart:   "disabled MFA for a while",
	AuditExemptionEnd:     "ended an exemption",
	AuditBulkDiscard:      "discarded a verified bulk update",
}

// AuditLabel is an action in words; an action without a label (written by another version) is
// shown as its code.
func AuditLabel(action string) string {
	if l, ok := AuditLabels[action]; ok {
		return l
	}
	return action
}

// Label is the record's action in words. Manage user settings says which settings it reset,
// read from the record's after value ("methods: …; app passwords: …", see describeSettings).
func (r *AuditRecord) Label() string {
	if r.Action != AuditResetUser {
		return AuditLabel(r.Action)
	}
	var parts []string
	for _, p := range []struct{ prefix, words string }{
		{"methods:", "reset contact methods"},
		{"app passwords:", "deleted app passwords"},
		{"remembered devices not before:", "restored MFA on remembered devices"},
	} {
		if strings.HasPrefix(r.After, p.prefix) || strings.Contains(r.After, "; "+p.prefix) {
			parts = append(parts, p.words)
		}
	}
	if len(parts) == 0 {
		return AuditLabel(r.Action)
	}
	return strings.Join(parts, ", ")
}

// Audit sources: where a change came from.
const (
	SourcePage = "page"
	SourceAPI  = "api"
	SourceCLI  = "cli"
	SourceSync = "sync"
	// SourceRegistration is a user's own registration (More information required, SPEC §7).
	SourceRegistration = "registration"
	// SourceSecurityInfo is a user's own change on their security info or app passwords pages.
	SourceSecurityInfo = "security-info"
	// SourceSetupLink is a user setting their first password with a setup link.
	SourceSetupLink = "setup-link"
	// SourceSystem is the portal itself (an upgrade step such as re-chaining the audit log).
	SourceSystem = "system"
)

// SourceBulk is the source of a change made by a bulk job.
func SourceBulk(jobID string) string { return "bulk:" + jobID }

// Outcomes of an audited change.
const (
	OutcomeSuccess = "success"
	OutcomeFailed  = "failed"
)

// AuditRecord is one entry of the append-only, hash-chained audit log (SPEC §1).
type AuditRecord struct {
	Seq         int64     `json:"seq"`
	Time        time.Time `json:"time"`
	ActorName   string    `json:"actor"`
	ActorRole   Role      `json:"actorRole"`
	ActorMethod string    `json:"actorMethod"`
	Action      string    `json:"action"`
	Target      string    `json:"target"`
	Before      string    `json:"before"`
	After       string    `json:"after"`
	Source      string    `json:"source"`
	Reason      string    `json:"reason"`
	ClientIP    string    `json:"clientIp"`
	Outcome     string    `json:"outcome"`
	PrevHash    string    `json:"prevHash"`
	Hash        string    `json:"hash"`
	// ActorKey and TargetKey are ActorName and Target as the store looks them up (AuditLookupKey):
	// the filters and histories use them, so the chain covers them (set by Seal, read back by
	// the store).
	ActorKey  string `json:"-"`
	TargetKey string `json:"-"`
}

// NewAuditRecord starts a record for an actor's change; the caller fills action, target, before and after.
func NewAuditRecord(actor Actor, source, reason string, at time.Time) AuditRecord {
	return AuditRecord{Time: at.UTC().Truncate(time.Millisecond), ActorName: actor.Name, ActorRole: actor.Role,
		ActorMethod: actor.Method, Source: source, Reason: reason, ClientIP: actor.IP, Outcome: OutcomeSuccess}
}

// AuditFilter selects audit records, newest first.
type AuditFilter struct {
	Target string // user name (case-insensitive exact), settings, an account...
	Actor  string // case-insensitive exact
	Action string // one of AuditActions
	Since  time.Time
	Until  time.Time
	Limit  int
	// Before is a cursor: only records with a lower sequence number (the next page, going back in time).
	Before int64
}

// Validate checks the filter and fills defaults.
func (f *AuditFilter) Validate() error {
	f.Target, f.Actor, f.Action = strings.TrimSpace(f.Target), strings.TrimSpace(f.Actor), strings.TrimSpace(f.Action)
	if len(f.Target) > 256 || len(f.Actor) > 256 {
		return FieldErrorf("target", "the filter is too long: at most 256 characters")
	}
	if f.Action != "" {
		known := false
		for _, a := range AuditActions {
			known = known || a == f.Action
		}
		if !known {
			return FieldErrorf("action", "unknown action: expected one of %s", strings.Join(AuditActions, ", "))
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return FieldErrorf("until", "the end of the time range is before its start")
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return FieldErrorf("limit", "limit %d is out of range: expected 1 to %d", f.Limit, MaxLimit)
	}
	if f.Before < 0 {
		return FieldErrorf("cursor", "the page cursor is not valid")
	}
	return nil
}

// AuditPage is a page of audit records, newest first.
type AuditPage struct {
	Records []*AuditRecord
	// NextBefore continues with older records; 0 when there are none.
	NextBefore int64
}

// AuditLog is the append-only audit store.
type AuditLog interface {
	// AppendAudit seals and appends a record (changes that are not user updates: settings, accounts).
	AppendAudit(ctx context.Context, r *AuditRecord) error
	// FindAudit returns a page of records matching f (validated), newest first.
	FindAudit(ctx context.Context, f AuditFilter) (*AuditPage, error)
	// EachAudit calls fn for every record after sequence number after, in sequence order (oldest
	// first), for verify, export and the audit stream. A record whose columns cannot be read is an
	// EINVALID error naming it (tampering), never an internal error.
	EachAudit(ctx context.Context, after int64, fn func(*AuditRecord) error) error
}

// UserHistory returns the newest audit records about a user.
func (s *Service) UserHistory(ctx context.Context, actor Actor, upn string, limit int) ([]*AuditRecord, error) {
	if err := actor.Require(PermView); err != nil {
		return nil, err
	}
	page, err := s.Audit.FindAudit(ctx, AuditFilter{Target: upn, Limit: limit})
	if err != nil {
		return nil, err
	}
	return page.Records, nil
}

// FindAudit returns a page of the audit log; f is validated here.
func (s *Service) FindAudit(ctx context.Context, actor Actor, f AuditFilter) (*AuditPage, error) {
	if err := actor.Require(PermView); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return s.Audit.FindAudit(ctx, f)
}

// AuditCSVHeader is the header of the audit log's CSV export.
var AuditCSVHeader = []string{"Seq", "Time", "Actor", "Role", "Sign-in", "Action", "Target", "Before", "After", "Source", "Reason", "Client IP", "Outcome", "Hash"}

// ExportAudit writes the records matching f as CSV (UTF-8 with BOM, formula-safe), newest first,
// a page at a time.
func (s *Service) ExportAudit(ctx context.Context, actor Actor, f AuditFilter, w io.Writer) error {
	if err := actor.Require(PermView); err != nil {
		return err
	}
	f.Limit, f.Before = MaxLimit, 0
	if err := f.Validate(); err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	cw.Write(AuditCSVHeader)
	for {
		page, err := s.Audit.FindAudit(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range page.Records {
			row := []string{strconv.FormatInt(r.Seq, 10), r.Time.UTC().Format(time.RFC3339Nano), r.ActorName, string(r.ActorRole),
				r.ActorMethod, r.Action, r.Target, r.Before, r.After, r.Source, r.Reason, r.ClientIP, r.Outcome, r.Hash}
			for i := range row {
				row[i] = SafeCSVField(CleanText(row[i]))
			}
			cw.Write(row)
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if page.NextBefore == 0 {
			return nil
		}
		f.Before = page.NextBefore
	}
}

// VerifyAudit checks the whole chain, oldest first, with the service's AuditKey. It answers how
// many records were checked and, when the chain is broken, an EINVALID error naming the first bad
// record.
func (s *Service) VerifyAudit(ctx context.Context, actor Actor) (int64, error) {
	if err := actor.Require(PermView); err != nil {
		return 0, err
	}
	v := ChainVerifier{Key: s.AuditKey}
	err := s.Audit.EachAudit(ctx, 0, v.Check)
	return v.Checked, err
}
