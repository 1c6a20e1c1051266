package templates

import (
	"fmt"

	"github.com/mfaportal/mfaportal/mfa"
)

// MyPage is the chrome of a directory user's own pages (/my): who is signed in, if anyone.
type MyPage struct {
	Title string
	UPN   string // "" while signed out
}

// MySignInView is the users' sign-in page.
type MySignInView struct {
	Username string
	Error    string
	Notice   string
}

// SetupView is the Set your password page of a setup link.
type SetupView struct {
	Action     string // the form's URL (the link itself)
	UPN        string
	Gone       string // the link is unknown, used or expired: this message, no form
	Error      string
	ErrorField string // "password" or "confirm"
}

// MoreInfoView is More information required and the choice of a method.
type MoreInfoView struct {
	Options    []mfa.MethodOption
	Adding     bool // add method from security info, rather than registration at sign-in
	Chosen     mfa.MethodType
	Phone      string
	Error      string
	ErrorField string // "method", "phone" or "channel"
}

// CodeView is a page that asks for a code: registration's verification or the sign-in's Enter code.
type CodeView struct {
	Prompt *mfa.CodePrompt
	// Secret and QR are the new authenticator's secret and its QR code as a data: URL (registering
	// the mobile app only).
	Secret, QR string
	Adding     bool
	Methods    []mfa.UsableMethod // the sign-in's other methods
	Remember   int                // "Don't ask again for N days"; 0 when remembering is off
	Error      string
	ErrorField string
	Notice     string
}

// SecurityView is a user's security info page.
type SecurityView struct {
	Info       *mfa.SecurityInfo
	Notice     string
	Error      string
	ErrorField string
}

// AppPasswordsView is a user's app passwords page.
type AppPasswordsView struct {
	List       []mfa.AppPassword
	Allowed    bool
	Name       string
	Created    string // the password just created, shown once
	Error      string
	ErrorField string
	Notice     string
}

// UserSecurityView is the security info of a user on an admin's user page (embedded directory).
type UserSecurityView struct {
	UPN          string
	Info         *mfa.SecurityInfo
	CanSetupLink bool
	SetupLink    *mfa.SetupLink // the link just created: shown on this page only
	Error        string
}

// ChannelText says how a code reaches the user.
func ChannelText(p *mfa.CodePrompt) string {
	switch p.Channel {
	case mfa.ChannelSMS:
		return "We texted a code to your phone " + p.Masked + ". Enter it below."
	case mfa.ChannelVoice:
		return "We are calling your phone " + p.Masked + ": the call tells you the code. Enter it below."
	}
	return "Open your authenticator app and enter the code it shows for mfaportal."
}

// UsableLabel names a sign-in method in the list of other ways to get a code.
func UsableLabel(m mfa.UsableMethod) string {
	switch m.Channel {
	case mfa.ChannelSMS:
		return "Text " + m.Masked
	case mfa.ChannelVoice:
		return "Call " + m.Masked
	}
	return "Use a code from the mobile app"
}

// ChannelLabel names how an authentication phone gets its code.
func ChannelLabel(c mfa.Channel) string {
	if c == mfa.ChannelSMS {
		return "Send me a code by text message"
	}
	return "Call me"
}

// RememberLabel is the checkbox "Don't ask again for N days".
func RememberLabel(days int) string {
	return fmt.Sprintf("Don't ask again for %d days", days)
}
