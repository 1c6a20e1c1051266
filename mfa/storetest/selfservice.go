package storetest

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/mfaportal/mfaportal/mfa"
)

// selfEnv is the self-service over a real SQLite directory, with a clock the test moves and a
// sender that keeps what it sent.
type selfEnv struct {
	t    *testing.T
	db   Store
	svc  *mfa.Service
	self *mfa.SelfService
	now  time.Time
	sent *fakeSender
}

type fakeSender struct {
	mu   sync.Mutex
	msgs []mfa.Message
	fail bool
}

func (f *fakeSender) Send(_ context.Context, m mfa.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("gateway down")
	}
	f.msgs = append(f.msgs, m)
	return nil
}

var codeInMessage = regexp.MustCompile(`\b\d{6}\b`)

// lastCode is the code of the last message sent to a number.
func (f *fakeSender) lastCode(t *testing.T, to string) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.msgs) - 1; i >= 0; i-- {
		if f.msgs[i].To == to {
			return codeInMessage.FindString(f.msgs[i].Text)
		}
	}
	t.Fatalf("no message to %s", to)
	return ""
}

const selfUsers = `UserPrincipalName,DisplayName,MFA Status,AccountEnabled,Admin,Methods
ann@contoso.com,Ann,Enabled,true,false,
bob@contoso.com,Bob,Disabled,true,false,
cat@contoso.com,Cat,Enforced,true,false,mobilePhone
dan@contoso.com,Dan,Enabled,false,false,
eve@contoso.com,Eve,Enabled,true,true,
`

func newSelfEnv(t *testing.T, open Opener) *selfEnv {
	t.Helper()
	e := &selfEnv{t: t, db: open(t), now: T0, sent: &fakeSender{}}
	clock := func() time.Time { return e.now }
	e.svc = mfa.MustNewService(mfa.Deps{Directory: e.db, Importer: e.db, Accounts: e.db, Tokens: e.db, Audit: e.db, Settings: e.db, Jobs: e.db, Now: clock})
	if _, err := e.svc.ImportUsers(context.Background(), mfa.CLIActor, strings.NewReader(selfUsers), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	self, err := mfa.NewSelfService(mfa.SelfService{Directory: e.db, Settings: e.db, Store: e.db, Sender: e.sent,
		PublicURL: "https://mfa.example", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	e.self = self
	return e
}

var bg = context.Background()

// setPassword gives a user a password through a setup link.
func (e *selfEnv) setPassword(upn, pw string) {
	e.t.Helper()
	link, err := e.self.CreateSetupLink(bg, mfa.CLIActor, upn)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.self.SetPasswordWithLink(bg, secretOf(link.URL), pw, pw, "198.51.100.1"); err != nil {
		e.t.Fatal(err)
	}
}

func secretOf(url string) string { return url[strings.LastIndex(url, "/")+1:] }

// signIn signs a user in from an address outside any trusted range.
func (e *selfEnv) signIn(upn, pw, device string) *mfa.UserSignIn {
	e.t.Helper()
	in, err := e.self.SignIn(bg, upn, pw, device, mfa.SignIn{})
	if err != nil {
		e.t.Fatalf("sign in %s: %v", upn, err)
	}
	return in
}

func (e *selfEnv) user(upn string) *mfa.User {
	e.t.Helper()
	u, err := e.db.FindUser(bg, upn)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *selfEnv) settings(change func(s *mfa.Settings)) {
	e.t.Helper()
	s, _ := e.db.LoadSettings(bg)
	change(&s)
	if _, _, err := e.svc.SaveSettings(bg, mfa.CLIActor, s, mfa.SourceCLI); err != nil {
		e.t.Fatal(err)
	}
}

// totpCode is the authenticator app's code at the test's time.
func (e *selfEnv) totpCode(secret string) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secret, e.now)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// registerApp takes a session at registration through the mobile app and answers the secret.
func (e *selfEnv) registerApp(in *mfa.UserSignIn) string {
	e.t.Helper()
	if _, err := e.self.StartRegistration(bg, in.Session, in.User, mfa.MethodChoice{Type: mfa.MethodSoftwareOTP}); err != nil {
		e.t.Fatal(err)
	}
	p, err := e.self.PendingRegistration(bg, in.Session, in.User)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.self.VerifyRegistration(bg, in.Session, in.User, e.totpCode(p.Secret), "198.51.100.1"); err != nil {
		e.t.Fatal(err)
	}
	return p.Secret
}

// audit returns the actions recorded about a target, oldest first.
func (e *selfEnv) audit(target string) []*mfa.AuditRecord {
	e.t.Helper()
	page, err := e.db.FindAudit(bg, mfa.AuditFilter{Target: target, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	out := page.Records
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func wantCode(t *testing.T, err error, code, field string) {
	t.Helper()
	if mfa.ErrorCode(err) != code || field != "" && mfa.ErrorField(err) != field {
		t.Fatalf("got %v (%s, field %q), want %s on %q", err, mfa.ErrorCode(err), mfa.ErrorField(err), code, field)
	}
}
