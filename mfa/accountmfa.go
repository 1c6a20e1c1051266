package mfa

import (
	"context"
	"time"
)

// AccountMFAStore keeps the authenticator apps (TOTP) of the portal's local accounts (SPEC §9).
type AccountMFAStore interface {
	// AccountTOTP returns the account's authenticator secret ("" when none is enrolled) and when it
	// was enrolled; ENOTFOUND when there is no such account.
	AccountTOTP(ctx context.Context, name string) (secret string, enrolledAt time.Time, err error)
	// SetAccountTOTP enrols an authenticator (secret != "") or removes it (secret == ""); removing
	// ends the account's sessions. Enrolling never replaces an app: ECONFLICT when one is enrolled
	// (checked in the same statement, so two enrolments at once cannot both win). ENOTFOUND when
	// there is no such account.
	SetAccountTOTP(ctx context.Context, name, secret string, at time.Time) error
	// UseAccountTOTPStep records that a code of time step step was used, and answers false when
	// that step (or a later one) was used already: a code works once.
	UseAccountTOTPStep(ctx context.Context, name string, step int64) (bool, error)
}

// ErrAppEnrolled refuses to enrol an authenticator app over the one the account has: one
// enrolled meanwhile (another sign-in, another tab) is never replaced by an enrolment begun before.
var ErrAppEnrolled = &Error{Code: ECONFLICT,
	Message: "An authenticator app was enrolled for this account meanwhile: use its code (to enrol another, remove it first)."}

// Audit actions of the local accounts' authenticator apps.
const (
	AuditAccountMFAEnrol  = "account.mfa-enrol"
	AuditAccountMFARemove = "account.mfa-remove"
	AuditAccountMFAReset  = "account.mfa-reset"
)

// SecondStep is what a local account must do after its password.
type SecondStep int

const (
	// NoSecondStep: the password is enough (no authenticator, and none required).
	NoSecondStep SecondStep = iota
	// CodeStep: enter the authenticator app's code.
	CodeStep
	// EnrolStep: enrol an authenticator app first (MFAPORTAL_REQUIRE_ADMIN_MFA).
	EnrolStep
)

// ErrBadCode is the one answer to a wrong, expired or already used authenticator code.
var ErrBadCode = &Error{Code: EUNAUTHORIZED, Field: "code", Message: "The code is not right, or was already used. Enter the code your authenticator app shows now."}

// AccountSecondStep says what account must do after its password.
func (s *Service) AccountSecondStep(ctx context.Context, account string) (SecondStep, error) {
	if s.AccountMFA == nil {
		return NoSecondStep, nil
	}
	secret, _, err := s.AccountMFA.AccountTOTP(ctx, account)
	switch {
	case err != nil:
		return NoSecondStep, err
	case secret != "":
		return CodeStep, nil
	case s.RequireAdminMFA:
		return EnrolStep, nil
	}
	return NoSecondStep, nil
}

// AccountTOTP returns whether the account has an authenticator app, and since when.
func (s *Service) AccountTOTP(ctx context.Context, account string) (bool, time.Time, error) {
	if s.AccountMFA == nil {
		return false, time.Time{}, Errorf(EUNAVAILABLE, "this store cannot keep authenticator apps for local accounts")
	}
	secret, at, err := s.AccountMFA.AccountTOTP(ctx, account)
	return secret != "", at, err
}

// NewAccountTOTPSecret makes a secret to enrol, and the otpauth:// URI its QR code carries.
func (s *Service) NewAccountTOTPSecret(account string) (secret, uri string, err error) {
	if secret, err = newTOTPKey(account); err != nil {
		return "", "", err
	}
	return secret, TOTPURI(account, secret), nil
}

// CheckAccountCode checks the code of the account's authenticator app: ErrBadCode when it is
// wrong or was used before.
func (s *Service) CheckAccountCode(ctx context.Context, account, code string) error {
	if s.AccountMFA == nil {
		return ErrBadCode
	}
	secret, _, err := s.AccountMFA.AccountTOTP(ctx, account)
	if err != nil {
		return err
	}
	return s.useCode(ctx, account, secret, code)
}

// useCode accepts code for secret once.
func (s *Service) useCode(ctx context.Context, account, secret, code string) error {
	code, err := normalizeCode(code)
	if err != nil {
		return err
	}
	step, ok := totpMatch(secret, code, s.now())
	if !ok {
		return ErrBadCode
	}
	fresh, err := s.AccountMFA.UseAccountTOTPStep(ctx, account, step)
	if err != nil {
		return err
	}
	if !fresh {
		return ErrBadCode
	}
	return nil
}

// EnrolAccountTOTP enrols secret as the account's authenticator app once code shows the app
// holds it. actor is the account itself (at /account/security, or during its sign-in).
func (s *Service) EnrolAccountTOTP(ctx context.Context, actor Actor, secret, code string) error {
	if s.AccountMFA == nil {
		return Errorf(EUNAVAILABLE, "this store cannot keep authenticator apps for local accounts")
	}
	if actor.Method != "local" {
		return Errorf(EFORBIDDEN, "only local accounts enrol an authenticator app here: your organisation's provider handles yours")
	}
	code, err := normalizeCode(code)
	if err != nil {
		return err
	}
	step, ok := totpMatch(secret, code, s.now())
	if !ok {
		return ErrBadCode
	}
	if err := s.AccountMFA.SetAccountTOTP(ctx, actor.Name, secret, s.now()); err != nil {
		return err
	}
	if _, err := s.AccountMFA.UseAccountTOTPStep(ctx, actor.Name, step); err != nil {
		return err
	}
	return s.auditAccount(ctx, actor, AuditAccountMFAEnrol, actor.Name, "", "authenticator app")
}

// RemoveAccountTOTP removes the actor's own authenticator app, proven by a code of it. Refused
// while MFAPORTAL_REQUIRE_ADMIN_MFA is on.
func (s *Service) RemoveAccountTOTP(ctx context.Context, actor Actor, code string) error {
	if s.RequireAdminMFA {
		return Errorf(ECONFLICT, "This portal requires an authenticator app for every local account (MFAPORTAL_REQUIRE_ADMIN_MFA): it cannot be removed. For a lost phone, an administrator runs \"mfaportal accounts reset-mfa NAME\" and you enrol a new one at your next sign-in.")
	}
	if err := s.CheckAccountCode(ctx, actor.Name, code); err != nil {
		return err
	}
	if err := s.AccountMFA.SetAccountTOTP(ctx, actor.Name, "", s.now()); err != nil {
		return err
	}
	return s.auditAccount(ctx, actor, AuditAccountMFARemove, actor.Name, "authenticator app", "")
}

// ResetAccountMFA removes an account's authenticator app for a lost phone (`mfaportal accounts
// reset-mfa NAME`): its sessions end, and at its next sign-in it enrols again when MFA is
// required.
func (s *Service) ResetAccountMFA(ctx context.Context, actor Actor, name string) error {
	if err := actor.Require(PermAdminister); err != nil {
		return err
	}
	if s.AccountMFA == nil {
		return Errorf(EUNAVAILABLE, "this store cannot keep authenticator apps for local accounts")
	}
	a, err := s.Accounts.FindAccount(ctx, name)
	if err != nil {
		return err
	}
	secret, _, err := s.AccountMFA.AccountTOTP(ctx, a.Name)
	if err != nil {
		return err
	}
	if secret == "" {
		return Errorf(ECONFLICT, "the account %q has no authenticator app to reset", a.Name)
	}
	if err := s.AccountMFA.SetAccountTOTP(ctx, a.Name, "", s.now()); err != nil {
		return err
	}
	return s.auditAccount(ctx, actor, AuditAccountMFAReset, a.Name, "authenticator app", "none; sessions ended")
}
