package mfa

import (
	"context"
	"strings"
)

// AdminAccount is the name of the local account created on first start.
const AdminAccount = "admin"

// CLIActor is the actor of commands run on the server's own command line, which has the data folder
// and so every right.
var CLIActor = Actor{Name: "cli", Role: RoleGlobalAdmin, Method: "cli"}

// EnsureAdmin creates the local `admin` account (global-admin) if it does not exist. With password
// "" a random one is generated and returned so that it can be printed once; with a password it is
// used as given. It returns "" when the account already existed.
func (s *Service) EnsureAdmin(ctx context.Context, password string) (generated string, err error) {
	if _, err := s.Accounts.FindAccount(ctx, AdminAccount); err == nil {
		return "", nil
	} else if ErrorCode(err) != ENOTFOUND {
		return "", err
	}
	if password == "" {
		password = RandomPassword()
		generated = password
	} else if err := ValidatePassword(password); err != nil {
		return "", Errorf(EINVALID, "MFAPORTAL_ADMIN_PASSWORD: %s", ErrorMessage(err))
	}
	hash, err := HashPassword(password)
	if err != nil {
		return "", err
	}
	now := s.now()
	err = s.Accounts.CreateAccount(ctx, &Account{Name: AdminAccount, Role: RoleGlobalAdmin, PasswordHash: hash, CreatedAt: now, UpdatedAt: now})
	if ErrorCode(err) == ECONFLICT { // created meanwhile by another process
		return "", nil
	}
	return generated, err
}

// CreateAccount adds a local account; ECONFLICT if the name is taken.
func (s *Service) CreateAccount(ctx context.Context, actor Actor, name string, role Role, password string) error {
	if err := actor.Require(PermAdminister); err != nil {
		return err
	}
	if err := ValidateAccountName(name); err != nil {
		return err
	}
	role, err := ParseRole(string(role)) // " Global-Admin" is stored as global-admin
	if err != nil {
		return err
	}
	if err := ValidatePassword(password); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	now := s.now()
	if err := s.Accounts.CreateAccount(ctx, &Account{Name: name, Role: role, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}); err != nil {
		return err
	}
	return s.auditAccount(ctx, actor, AuditAccountAdd, name, "", string(role))
}

// auditAccount records an administration change of a local account (never the password itself).
func (s *Service) auditAccount(ctx context.Context, actor Actor, action, name, before, after string) error {
	return s.auditAdmin(ctx, actor, action, "account:"+name, before, after)
}

// auditAdmin records an administration change (accounts, tokens) with the source of the actor.
func (s *Service) auditAdmin(ctx context.Context, actor Actor, action, target, before, after string) error {
	source := SourcePage
	if actor.Method == "cli" {
		source = SourceCLI
	} else if actor.Method == "token" {
		source = SourceAPI
	}
	rec := NewAuditRecord(actor, source, "", s.now())
	rec.Action, rec.Target, rec.Before, rec.After = action, target, before, after
	return s.Audit.AppendAudit(ctx, &rec)
}

// SetAccountPassword replaces a local account's password.
func (s *Service) SetAccountPassword(ctx context.Context, actor Actor, name, password string) error {
	if err := actor.Require(PermAdminister); err != nil {
		return err
	}
	if err := ValidatePassword(password); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	if err := s.Accounts.UpdateAccountPassword(ctx, name, hash, s.now()); err != nil {
		return err
	}
	return s.auditAccount(ctx, actor, AuditAccountPasswd, name, "", "password changed; sessions ended")
}

// RemoveAccount deletes a local account and ends its sessions.
func (s *Service) RemoveAccount(ctx context.Context, actor Actor, name string) error {
	if err := actor.Require(PermAdminister); err != nil {
		return err
	}
	a, err := s.Accounts.FindAccount(ctx, name)
	if err != nil {
		return err
	}
	if actor.Method == "local" && strings.EqualFold(actor.Name, a.Name) {
		return Errorf(ECONFLICT, "you are signed in with the account %q: sign in with another global admin to remove it", a.Name)
	}
	if err := s.Accounts.DeleteAccount(ctx, name); err != nil {
		return err
	}
	return s.auditAccount(ctx, actor, AuditAccountRemove, a.Name, string(a.Role), "")
}

// ListAccounts returns every local account.
func (s *Service) ListAccounts(ctx context.Context, actor Actor) ([]*Account, error) {
	if err := actor.Require(PermAdminister); err != nil {
		return nil, err
	}
	return s.Accounts.ListAccounts(ctx)
}

// ErrBadCredentials is the one answer to a wrong user name or password, so that neither is revealed.
var ErrBadCredentials = &Error{Code: EUNAUTHORIZED, Message: "The user name or password is incorrect."}

// Authenticate checks a local account's password and returns the account. A wrong name and a wrong
// password take the same time and give the same ErrBadCredentials. When every password hashing
// slot is busy it answers ErrBusy, and nothing was checked.
func (s *Service) Authenticate(ctx context.Context, name, password string) (*Account, error) {
	if len(name) > 64 || len(password) > 1024 {
		if _, err := CheckPasswordOrDummy("", password[:min(len(password), 1024)]); err != nil {
			return nil, err
		}
		return nil, ErrBadCredentials
	}
	a, err := s.Accounts.FindAccount(ctx, name)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	hash := ""
	if a != nil {
		hash = a.PasswordHash
	}
	ok, err := CheckPasswordOrDummy(hash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrBadCredentials
	}
	return a, nil
}
