package graphemu

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// Well-known Graph ids: phone methods have one fixed id per phone type, the email method and the
// password method one each.
const (
	PasswordMethodID       = "28c10230-6103-485e-b985-444c60001490"
	EmailMethodID          = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"
	MobilePhoneMethodID    = "3179e48a-750b-4051-897c-87b9720928f7"
	AlternatePhoneMethodID = "b6332ec1-7057-4abe-9331-3d72feddfe41"
	OfficePhoneMethodID    = "e37fc753-ff3b-4958-9484-eaa9425c82bc"
)

// seedCreated is when seeded users were created; their methods were registered hours later.
const seedCreated = "2024-01-15T09:00:00Z"

// Typed method collections, lower case as routes compare them.
const (
	segPhone    = "phonemethods"
	segAuthApp  = "microsoftauthenticatormethods"
	segSoftOath = "softwareoathmethods"
	segHardOath = "hardwareoathmethods"
	segFido2    = "fido2methods"
	segEmail    = "emailmethods"
	segPassword = "passwordmethods"
)

// OData types of the authentication methods.
const (
	odataPhoneMethod   = "#microsoft.graph.phoneAuthenticationMethod"
	odataAuthenticator = "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"
	odataSoftwareOath  = "#microsoft.graph.softwareOathAuthenticationMethod"
	odataHardwareOath  = "#microsoft.graph.hardwareOathAuthenticationMethod"
	odataFido2         = "#microsoft.graph.fido2AuthenticationMethod"
	odataEmail         = "#microsoft.graph.emailAuthenticationMethod"
	odataPassword      = "#microsoft.graph.passwordAuthenticationMethod"
)

// User is a snapshot of one emulated user, as the accessors return it.
type User struct {
	ID             string
	UPN            string
	DisplayName    string
	AccountEnabled bool
	State          mfa.State // perUserMfaState
	// Methods are the registered methods, the password method excluded (it is always there).
	Methods []Method
	// SessionsRevokedAt is when revokeSignInSessions was last called (zero: never).
	SessionsRevokedAt time.Time
	// Privileged says the user is a member of a directory role (an admin).
	Privileged bool
}

// Method is one registered authentication method of a User.
type Method struct {
	ID        string
	Type      mfa.MethodType
	ODataType string // e.g. "#microsoft.graph.phoneAuthenticationMethod"
	IsDefault bool   // the user's default (preferred) method for MFA
}

type user struct {
	seq            uint64
	id             string
	upn            string
	displayName    string
	accountEnabled bool
	state          mfa.State
	methods        []method
	defaultID      string
	revokedAt      time.Time
	created        time.Time
	// systemPreferred is the user's own isSystemPreferredAuthenticationMethodEnabled, once PATCHed
	// (nil: the tenant's systemCredentialPreferences decide).
	systemPreferred *bool
	// guest is userType Guest (else Member); methodsAt is when the methods last changed (the
	// registration report's lastUpdatedDateTime).
	guest     bool
	methodsAt time.Time
}

type method struct {
	id      string
	typ     mfa.MethodType
	created time.Time
}

// directory holds the users: a slice in creation order (for paging) and maps by id and UPN.
type directory struct {
	mu        sync.RWMutex
	users     []*user // ordered by seq
	byID      map[string]*user
	byUPN     map[string]*user
	nextSeq   uint64
	enabled   int // users with accountEnabled
	policy    policy
	createdAt time.Time
	roles     []*dirRole // activated directory roles, in activation order
	ca        caTenant   // Conditional Access: groups, policies, security defaults (conditional.go)
}

func (d *directory) init(systemPreferred bool) {
	d.byID = make(map[string]*user)
	d.byUPN = make(map[string]*user)
	d.nextSeq = 1
	d.createdAt, _ = time.Parse(time.RFC3339, seedCreated)
	d.policy = defaultPolicy(d.createdAt, systemPreferred)
	// Only the Global Administrator role (Company Administrator) is activated in a new tenant.
	_, _ = d.activateLocked(GlobalAdministratorTemplateID)
}

func (d *directory) seed(n int) {
	if n <= 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users = slices.Grow(d.users, n)
	for u := range mfa.DemoUsers(n) {
		_, _ = d.addLocked(u)
	}
}

// userID derives a GUID-shaped id from the user name, so a tenant seeded twice has the same ids.
func userID(upn string) string {
	h := sha256.Sum256([]byte("graphemu user\x00" + mfa.NormalizeUPN(upn)))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return formatGUID(h[:16])
}

func derivedID(parts ...string) string {
	h := sha256.Sum256([]byte("graphemu method\x00" + strings.Join(parts, "\x00")))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return formatGUID(h[:16])
}

func (d *directory) addLocked(mu mfa.User) (*user, error) {
	if err := mfa.ValidateUPN(mu.UPN); err != nil {
		return nil, err
	}
	key := mfa.NormalizeUPN(mu.UPN)
	if _, dup := d.byUPN[key]; dup {
		return nil, fmt.Errorf("graphemu: user %q already exists", mu.UPN)
	}
	id := strings.ToLower(strings.TrimSpace(mu.ID))
	if id == "" {
		id = userID(mu.UPN)
	}
	if _, dup := d.byID[id]; dup {
		return nil, fmt.Errorf("graphemu: user id %q already exists", id)
	}
	st := mu.State
	if !st.Valid() {
		st = mfa.StateDisabled
	}
	u := &user{
		seq:            d.nextSeq,
		id:             id,
		upn:            strings.TrimSpace(mu.UPN),
		displayName:    strings.TrimSpace(mu.DisplayName),
		accountEnabled: mu.AccountEnabled,
		state:          st,
		created:        d.createdAt.Add(time.Duration(d.nextSeq) * time.Minute),
	}
	if u.displayName == "" {
		u.displayName = u.upn
	}
	if err := u.setMethods(mu.Methods); err != nil {
		return nil, err
	}
	d.nextSeq++
	d.users = append(d.users, u)
	d.byID[id] = u
	d.byUPN[key] = u
	if u.accountEnabled {
		d.enabled++
	}
	if mu.Privileged {
		if r, err := d.activateLocked(GlobalAdministratorTemplateID); err == nil {
			r.members[id] = true
		}
	}
	return u, nil
}

// lookup finds a user by id or user principal name. Callers hold d.mu.
func (d *directory) lookup(idOrUPN string) *user {
	k := strings.ToLower(strings.TrimSpace(idOrUPN))
	if u := d.byID[k]; u != nil {
		return u
	}
	return d.byUPN[k]
}

// indexAfter is the position of the first user whose seq is greater than seq.
func (d *directory) indexAfter(seq uint64) int {
	return sort.Search(len(d.users), func(i int) bool { return d.users[i].seq > seq })
}

// setMethods replaces the user's methods with ones made from the domain's: phones and email at most
// once each. The default is the first method marked default that Graph can have as default (a phone,
// the Authenticator app or an OATH token), else the first such method.
func (u *user) setMethods(ms []mfa.Method) error {
	seen := map[mfa.MethodType]int{}
	var out []method
	var def, firstCapable string
	for _, m := range ms {
		id, err := methodIDFor(u.id, m.Type, seen[m.Type])
		if err != nil {
			return err
		}
		seen[m.Type]++
		out = append(out, method{id: id, typ: m.Type, created: u.created.Add(time.Duration(len(out)+1) * time.Hour)})
		if canBeDefault(m.Type) {
			if firstCapable == "" {
				firstCapable = id
			}
			if m.IsDefault && def == "" {
				def = id
			}
		}
	}
	if def == "" {
		def = firstCapable
	}
	u.methods, u.defaultID = out, def
	u.methodsAt = u.created
	if len(out) > 0 {
		u.methodsAt = out[len(out)-1].created
	}
	return nil
}

func methodIDFor(userID string, t mfa.MethodType, n int) (string, error) {
	fixed := map[mfa.MethodType]string{
		mfa.MethodMobilePhone:          MobilePhoneMethodID,
		mfa.MethodAlternateMobilePhone: AlternatePhoneMethodID,
		mfa.MethodOfficePhone:          OfficePhoneMethodID,
		mfa.MethodEmail:                EmailMethodID,
	}
	if id, ok := fixed[t]; ok {
		if n > 0 {
			return "", fmt.Errorf("graphemu: a user has at most one %s method", t)
		}
		return id, nil
	}
	switch t {
	case mfa.MethodAuthenticatorPush, mfa.MethodSoftwareOTP, mfa.MethodHardwareOTP:
		return derivedID(userID, string(t), fmt.Sprint(n)), nil
	case mfa.MethodFIDO2:
		// FIDO2 method ids are base64url credential ids in Graph, not GUIDs.
		h := sha256.Sum256([]byte("graphemu fido2\x00" + userID + "\x00" + fmt.Sprint(n)))
		return base64.RawURLEncoding.EncodeToString(h[:16]), nil
	}
	return "", fmt.Errorf("graphemu: unknown method type %q", t)
}

func canBeDefault(t mfa.MethodType) bool {
	switch t {
	case mfa.MethodMobilePhone, mfa.MethodAlternateMobilePhone, mfa.MethodOfficePhone,
		mfa.MethodAuthenticatorPush, mfa.MethodSoftwareOTP, mfa.MethodHardwareOTP:
		return true
	}
	return false
}

// hasMFAMethods reports whether the user registered a method usable for MFA (the email method is for
// password reset only, the password method does not count).
func (u *user) hasMFAMethods() bool {
	for _, m := range u.methods {
		if m.typ != mfa.MethodEmail {
			return true
		}
	}
	return false
}

func (u *user) method(id string) (int, *method) {
	for i := range u.methods {
		if strings.EqualFold(u.methods[i].id, id) {
			return i, &u.methods[i]
		}
	}
	return -1, nil
}

func (u *user) snapshot() User {
	out := User{
		ID: u.id, UPN: u.upn, DisplayName: u.displayName, AccountEnabled: u.accountEnabled,
		State: u.state, SessionsRevokedAt: u.revokedAt,
	}
	for _, m := range u.methods {
		out.Methods = append(out.Methods, Method{ID: m.id, Type: m.typ, ODataType: odataTypeOf(m.typ), IsDefault: m.id == u.defaultID})
	}
	return out
}

func odataTypeOf(t mfa.MethodType) string {
	switch t {
	case mfa.MethodMobilePhone, mfa.MethodAlternateMobilePhone, mfa.MethodOfficePhone:
		return odataPhoneMethod
	case mfa.MethodAuthenticatorPush:
		return odataAuthenticator
	case mfa.MethodSoftwareOTP:
		return odataSoftwareOath
	case mfa.MethodHardwareOTP:
		return odataHardwareOath
	case mfa.MethodFIDO2:
		return odataFido2
	case mfa.MethodEmail:
		return odataEmail
	}
	return ""
}

// segmentOf is the typed collection segment (lower case) a method type is deleted through.
func segmentOf(t mfa.MethodType) string {
	switch t {
	case mfa.MethodMobilePhone, mfa.MethodAlternateMobilePhone, mfa.MethodOfficePhone:
		return segPhone
	case mfa.MethodAuthenticatorPush:
		return segAuthApp
	case mfa.MethodSoftwareOTP:
		return segSoftOath
	case mfa.MethodHardwareOTP:
		return segHardOath
	case mfa.MethodFIDO2:
		return segFido2
	case mfa.MethodEmail:
		return segEmail
	}
	return ""
}

// preferredValue is the signInPreferences value naming a default method of type t.
func preferredValue(t mfa.MethodType) string {
	switch t {
	case mfa.MethodAuthenticatorPush:
		return "push"
	case mfa.MethodSoftwareOTP, mfa.MethodHardwareOTP:
		return "oath"
	case mfa.MethodMobilePhone:
		return "sms"
	case mfa.MethodAlternateMobilePhone:
		return "voiceAlternateMobile"
	case mfa.MethodOfficePhone:
		return "voiceOffice"
	}
	return ""
}

// ---- accessors for tests ----

// User returns a snapshot of the user with this id or user principal name.
func (s *Server) User(idOrUPN string) (User, bool) {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	u := s.dir.lookup(idOrUPN)
	if u == nil {
		return User{}, false
	}
	out := u.snapshot()
	out.Privileged = s.dir.privilegedLocked(u.id)
	return out, true
}

// UserState returns the per-user MFA state of the user with this id or user principal name.
func (s *Server) UserState(idOrUPN string) (mfa.State, bool) {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	if u := s.dir.lookup(idOrUPN); u != nil {
		return u.state, true
	}
	return "", false
}

// UserCount is the number of users.
func (s *Server) UserCount() int {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	return len(s.dir.users)
}

// UserIDs returns every user id in listing order.
func (s *Server) UserIDs() []string {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	out := make([]string, len(s.dir.users))
	for i, u := range s.dir.users {
		out[i] = u.id
	}
	return out
}

// AddUser adds a user (as if created in Entra meanwhile) and returns its id: u.ID when set, else one
// derived from the user name. State, methods (the default first) and AccountEnabled are taken from u;
// a Privileged user is made a member of the Global Administrator role.
func (s *Server) AddUser(u mfa.User) (string, error) {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	nu, err := s.dir.addLocked(u)
	if err != nil {
		return "", err
	}
	return nu.id, nil
}

// DeleteUser removes a user (as if deleted in Entra meanwhile); later calls about it get 404.
func (s *Server) DeleteUser(idOrUPN string) error {
	d := &s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.lookup(idOrUPN)
	if u == nil {
		return ErrNotFound
	}
	i := d.indexAfter(u.seq - 1)
	d.users = slices.Delete(d.users, i, i+1)
	delete(d.byID, u.id)
	delete(d.byUPN, mfa.NormalizeUPN(u.upn))
	for _, r := range d.roles {
		delete(r.members, u.id)
	}
	if u.accountEnabled {
		d.enabled--
	}
	return nil
}

// SetUserState sets a user's per-user MFA state out of band, without the enabled→enforced rule.
func (s *Server) SetUserState(idOrUPN string, st mfa.State) error {
	if !st.Valid() {
		return fmt.Errorf("graphemu: invalid state %q", st)
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	u := s.dir.lookup(idOrUPN)
	if u == nil {
		return ErrNotFound
	}
	u.state = st
	return nil
}

// SetUserMethods replaces a user's registered methods (the default first, or marked IsDefault), as
// if the user registered them. Like a real registration, an Enabled user who now has an MFA method
// becomes Enforced.
func (s *Server) SetUserMethods(idOrUPN string, ms []mfa.Method) error {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	u := s.dir.lookup(idOrUPN)
	if u == nil {
		return ErrNotFound
	}
	if err := u.setMethods(ms); err != nil {
		return err
	}
	u.methodsAt = s.now()
	if u.hasMFAMethods() {
		u.state = mfa.StateAfterRegistration(u.state)
	}
	return nil
}

// SetAccountEnabled allows or blocks a user's sign-in.
func (s *Server) SetAccountEnabled(idOrUPN string, enabled bool) error {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	u := s.dir.lookup(idOrUPN)
	if u == nil {
		return ErrNotFound
	}
	if u.accountEnabled != enabled {
		if enabled {
			s.dir.enabled++
		} else {
			s.dir.enabled--
		}
	}
	u.accountEnabled = enabled
	return nil
}
