package templates

import "github.com/mfaportal/mfaportal/mfa"

// AccountsView is the local accounts page (global admins).
type AccountsView struct {
	Accounts   []*mfa.Account
	Self       string // the local account signed in, which cannot remove itself
	Name, Role string // the add form, kept when it is refused
	Error      string
	ErrorField string // "name", "role", "password" or "confirm"
	Notice     string
	Confirm    *ConfirmDialog // asks before removing an account
}

// TokensView is the API tokens page (global admins).
type TokensView struct {
	Tokens     []*mfa.Token
	Name, Role string // the create form, kept when it is refused
	Error      string
	ErrorField string // "name" or "role"
	Notice     string
	Created    *CreatedToken  // the token just created: shown on this page only, never again
	Confirm    *ConfirmDialog // asks before revoking a token
}

// CreatedToken is a token right after its creation, with its secret.
type CreatedToken struct {
	Name   string
	Role   mfa.Role
	Secret string
}

// NoAccessView is the page for someone who signed in with their organisation but holds no role
// that gives access to the portal.
type NoAccessView struct {
	Name    string // who signed in
	Claim   string // the claim that was looked at
	Overage bool   // the provider left the claim out (too many groups)
	Missing bool   // the ID token has no such claim
	Hint    string // how to get the claim into the ID token, when it is missing
	// Values are the claim values that give access, for a claim other than Entra's wids.
	Values []RoleValue
}

// RoleValue is a claim value and the role it gives.
type RoleValue struct {
	Value string
	Role  mfa.Role
}
