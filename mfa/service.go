package mfa

import (
	"context"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"time"
)

// Deps are what a Service is built from: the directory and the portal's own stores.
type Deps struct {
	Directory Directory     // required
	Accounts  AccountStore  // required
	Audit     AuditLog      // required: every change is recorded, never skipped
	Settings  SettingsStore // required
	Jobs      JobStore      // required
	Importer  UserImporter  // optional: nil when the directory cannot create users
	Tokens    TokenStore    // optional: nil where API tokens are not used
	// Registrations lists users awaiting registration (the registration tab); optional: nil hides it.
	Registrations RegistrationStore
	Now           func() time.Time
}

// Service is the portal's use cases over a directory and the portal's own stores. Every method
// takes the acting admin and checks SPEC §3's permissions before it reads or changes anything.
// Build it with NewService; its dependencies are not changed afterwards.
type Service struct {
	Deps
	// AccountMFA keeps the local accounts' authenticator apps; nil where the store cannot.
	AccountMFA AccountMFAStore
	// RequireAdminMFA makes every local account enrol an authenticator app (MFAPORTAL_REQUIRE_ADMIN_MFA).
	RequireAdminMFA bool
	// AuditKey keys the audit chain's HMACs (the store seals with the same key); nil verifies the
	// legacy SHA-256 chain of a store opened without a key.
	AuditKey []byte
	// BulkPlanTTL is how long a verified bulk job waits to be started before it expires and is
	// deleted (--bulk-plan-ttl); 0 means DefaultBulkPlanTTL.
	BulkPlanTTL time.Duration
	// Mailer sends the registration tab's notifications; nil when no SMTP server is configured.
	Mailer Mailer
	// Notices keeps the notification template; nil uses DefaultNotifyTemplate.
	Notices NotifyStore
	// SetupURL is the link users register at (MFAPORTAL_SETUP_URL), sent in notifications.
	SetupURL string
	// Exemptions keeps the users disabled for a while (exemption.go); nil: not offered.
	Exemptions ExemptionStore
	// Overview counts the directory for the overview tab and keeps its daily snapshots.
	Overview OverviewStore
	// Wake, if set, tells the bulk runner that a job was queued.
	Wake func()
	// RequireReason makes a reason (or ticket) mandatory for state changes and user settings.
	RequireReason bool

	// What the directory can do besides Directory, resolved once by NewService; nil where it
	// cannot.
	lookup  UserLookup
	plan    PlanLookup
	batch   BatchUpdater
	dirSync DirectorySync

	live liveProgress
}

// NewService checks that every required dependency is there (EINTERNAL naming the first missing)
// and resolves once what the directory can do besides the Directory interface: look users up in
// bulk, plan faster, change a batch in one transaction, synchronize from another directory. Now
// defaults to time.Now.
func NewService(d Deps) (*Service, error) {
	for _, dep := range []struct {
		name    string
		missing bool
	}{
		{"Directory", d.Directory == nil}, {"Accounts", d.Accounts == nil}, {"Audit", d.Audit == nil},
		{"Settings", d.Settings == nil}, {"Jobs", d.Jobs == nil},
	} {
		if dep.missing {
			return nil, Errorf(EINTERNAL, "mfa.NewService: no %s: a service needs its directory, accounts, audit log, settings and jobs", dep.name)
		}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{Deps: d}
	s.lookup, _ = d.Directory.(UserLookup)
	s.batch, _ = d.Directory.(BatchUpdater)
	s.dirSync, _ = d.Directory.(DirectorySync)
	if p, ok := d.Directory.(PlanLookup); ok {
		s.plan = p
	} else if s.lookup != nil {
		s.plan = planLookup{s.lookup}
	}
	return s, nil
}

// HasTokens reports whether API tokens are in use (a token store was given).
func (s *Service) HasTokens() bool { return s.Tokens != nil }

// Capabilities are what the backend can apply of the settings and steps.
func (s *Service) Capabilities() Capabilities { return s.Settings.Capabilities() }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ListUsers returns one page of users matching f. f is validated here; EINVALID names the field.
func (s *Service) ListUsers(ctx context.Context, actor Actor, f UserFilter) (*UserPage, error) {
	if err := actor.Require(PermView); err != nil {
		return nil, err
	}
	if err := s.validateFilter(&f); err != nil {
		return nil, err
	}
	return s.Directory.FindUsers(ctx, f)
}

// GetUser returns one user by UPN; ENOTFOUND if there is none.
func (s *Service) GetUser(ctx context.Context, actor Actor, upn string) (*User, error) {
	if err := actor.Require(PermView); err != nil {
		return nil, err
	}
	if err := ValidateUPN(upn); err != nil {
		return nil, Errorf(ENOTFOUND, "no user %q", truncate(upn, 100))
	}
	return s.Directory.FindUser(ctx, upn)
}

// GetUsers returns the users with the given UPNs that exist, in the order given, looked up in bulk
// where the directory can (one query for a page of selected users, not one each).
func (s *Service) GetUsers(ctx context.Context, actor Actor, upns []string) ([]*User, error) {
	if err := actor.Require(PermView); err != nil {
		return nil, err
	}
	var found map[string]*User
	if s.lookup != nil {
		var err error
		if found, err = s.lookup.FindUsersByUPN(ctx, upns); err != nil {
			return nil, err
		}
	} else {
		found = map[string]*User{}
		for _, upn := range upns {
			u, err := s.Directory.FindUser(ctx, upn)
			if ErrorCode(err) == ENOTFOUND {
				continue
			}
			if err != nil {
				return nil, err
			}
			found[NormalizeUPN(upn)] = u
		}
	}
	out := make([]*User, 0, len(found))
	for _, upn := range upns {
		if u := found[NormalizeUPN(upn)]; u != nil {
			out = append(out, u)
		}
	}
	return out, nil
}

// ExportHeader is the header of `users export` and the page's export: the bulk update format
// (Username,MFA Status) and then extra columns that the bulk update ignores.
var ExportHeader = []string{"Username", "MFA Status", "Display Name", "Sign-in", "Admin", "Methods", "App Passwords", "Remembered Devices Not Before"}

// ExportUsers streams every user matching f as CSV (UTF-8 with BOM, so that Excel opens it),
// formula-injection safe, a page of the directory at a time.
func (s *Service) ExportUsers(ctx context.Context, actor Actor, f UserFilter, w io.Writer) error {
	if err := actor.Require(PermView); err != nil {
		return err
	}
	f.Limit = MaxLimit
	f.After, f.Before = "", ""
	if err := s.validateFilter(&f); err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	withCA := s.Capabilities().ConditionalAccess
	header := ExportHeader
	if withCA {
		header = slices.Concat(ExportHeader, ExportCoverageHeader)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for {
		page, err := s.Directory.FindUsers(ctx, f)
		if err != nil {
			return err
		}
		for _, u := range page.Users {
			signIn := "Allowed"
			if !u.AccountEnabled {
				signIn = "Blocked"
			}
			notBefore := ""
			if !u.RememberedDevicesNotBefore.IsZero() {
				notBefore = u.RememberedDevicesNotBefore.UTC().Format(time.RFC3339)
			}
			row := []string{u.UPN, u.State.Label(), u.DisplayName, signIn, strconv.FormatBool(u.Privileged),
				FormatMethodList(u.Methods), strconv.Itoa(u.AppPasswords), notBefore}
			if withCA {
				row = append(row, u.Coverage.exportColumns()...)
			}
			for i := range row {
				row[i] = SafeCSVField(row[i])
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if page.NextCursor == "" {
			return nil
		}
		f.After = page.NextCursor
	}
}

// ImportUsers reads a `users import` file and creates or updates its users, all or nothing.
func (s *Service) ImportUsers(ctx context.Context, actor Actor, r io.Reader, lim CSVLimits) (ImportResult, error) {
	if err := actor.Require(PermAdminister); err != nil {
		return ImportResult{}, err
	}
	if s.Importer == nil {
		return ImportResult{}, Errorf(EUNAVAILABLE, "this directory cannot import users: users import works on the embedded directory only")
	}
	imp, err := ParseUserImport(r, lim)
	if err != nil {
		return ImportResult{}, err
	}
	now := s.now()
	source := SourcePage
	if actor.Method == "cli" {
		source = SourceCLI
	}
	var moved []string // users whose state the file changed: their exemptions end (endExemptionsOf)
	var movedTo []State
	res, err := s.Importer.ImportUsers(ctx, imp.Users, imp.Columns, now, func(before, after *User) *AuditRecord {
		if before != nil && before.State != after.State {
			moved, movedTo = append(moved, after.UPN), append(movedTo, after.State)
		}
		rec := NewAuditRecord(actor, source, "", now)
		rec.Action, rec.Target, rec.After = AuditUserImport, after.UPN, describeImported(after)
		if before != nil {
			rec.Before = describeImported(before)
		}
		if rec.Before == rec.After {
			return nil
		}
		return &rec
	})
	if err != nil {
		return ImportResult{}, err
	}
	// The import is made whatever this answers (see setState).
	_ = s.endExemptionsOf(ctx, actor, source, moved, movedTo)
	res.Notice = imp.Notice
	return res, nil
}

// describeImported is what users import sets on a user, for the audit log.
func describeImported(u *User) string {
	signIn, methods := "allowed", FormatMethodList(u.Methods)
	if !u.AccountEnabled {
		signIn = "blocked"
	}
	if methods == "" {
		methods = "none"
	}
	return "name: " + u.DisplayName + "; status: " + u.State.Label() + "; sign-in: " + signIn +
		"; admin: " + strconv.FormatBool(u.Privileged) + "; methods: " + methods
}

// MustNewService is NewService for dependencies known to be complete (one store that serves them
// all, a test's fakes); it panics on a missing one, a bug in the caller.
func MustNewService(d Deps) *Service {
	s, err := NewService(d)
	if err != nil {
		panic(err)
	}
	return s
}
