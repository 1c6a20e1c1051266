package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/mfaportal/mfaportal/mfa"
)

var registerSerializers sync.Once

// useJSON registers the JSON serializers the SDK's adapters and $batch use (the root package's
// client does this; this package does without it).
func useJSON() {
	registerSerializers.Do(func() {
		abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return jsonser.NewJsonSerializationWriterFactory() })
		abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return jsonser.NewJsonParseNodeFactory() })
		// A failed $batch as a whole carries Graph's error message too.
		_ = core.RegisterError(core.BatchRequestErrorRegistryKey, errorMapping)
	})
}

// userFields are what the portal reads of a user ($select).
var userFields = []string{"id", "userPrincipalName", "displayName", "accountEnabled", "userType"}

// pageSize is $top for the users list: the most Graph allows.
const pageSize = 999

// usersPage is one page of GET /v1.0/users.
type usersPage struct {
	users []graphUser
	next  string // @odata.nextLink, a whole URL; "" on the last page
	count int    // @odata.count on the first page, 0 if not given
}

type graphUser struct {
	id, upn, displayName string
	accountEnabled       bool
	guest                bool // userType Guest (Conditional Access's guests)
}

// listUsers reads a page of users: the first (next == "") with $select, $top=999 and $count, or
// the one @odata.nextLink names, followed as a whole URL. One resource unit.
func (c *client) listUsers(ctx context.Context, next string) (*usersPage, error) {
	var resp models.UserCollectionResponseable
	err := c.do(ctx, 1, 0, func(ctx context.Context) error {
		var err error
		// $count needs the advanced query header, on the pages of the nextLink too.
		h := abs.NewRequestHeaders()
		h.Add("ConsistencyLevel", "eventual")
		if next != "" {
			resp, err = users.NewUsersRequestBuilder(next, c.v1).Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{Headers: h})
			return err
		}
		top, count := int32(pageSize), true
		resp, err = users.NewUsersRequestBuilderInternal(map[string]string{}, c.v1).Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
			Headers:         h,
			QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: userFields, Top: &top, Count: &count},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, &failure{msg: "an empty answer to GET /users"}
	}
	p := &usersPage{}
	if n := resp.GetOdataNextLink(); n != nil {
		p.next = *n
	}
	if n := resp.GetOdataCount(); n != nil {
		p.count = int(*n)
	}
	for _, u := range resp.GetValue() {
		g := graphUser{id: deref(u.GetId()), upn: deref(u.GetUserPrincipalName()), displayName: deref(u.GetDisplayName())}
		if e := u.GetAccountEnabled(); e != nil {
			g.accountEnabled = *e
		}
		g.guest = strings.EqualFold(deref(u.GetUserType()), "Guest")
		if g.id == "" || g.upn == "" {
			return nil, &failure{msg: "a malformed answer to GET /users: a user without id or userPrincipalName"}
		}
		if g.displayName == "" {
			g.displayName = g.upn
		}
		p.users = append(p.users, g)
	}
	return p, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// userState is what Graph says of one user's MFA: the per-user state and the registered methods.
type userState struct {
	state       mfa.State
	methods     []graphMethod
	defaultRead bool // signInPreferences was read: IsDefault of methods is known
	readAt      time.Time
	report      *regRecord // the methods are the registration report's (casync.go)
	fail        *failure   // the read failed for good (e.g. 404: deleted in Graph)
}

// graphMethod is a registered authentication method with what it takes to delete it.
type graphMethod struct {
	id        string
	typ       mfa.MethodType
	isDefault bool
}

// methodsOf turns the state's methods into the domain's.
func (s *userState) domainMethods() []mfa.Method {
	out := make([]mfa.Method, 0, len(s.methods))
	for _, m := range s.methods {
		out = append(out, mfa.Method{Type: m.typ, IsDefault: m.isDefault})
	}
	return out
}

// requirementsInfo is GET or PATCH /beta/users/{id}/authentication/requirements: the v1.0 SDK has
// no model for it, so it is a RequestInformation with its URL set, sent on the beta adapter.
func (c *client) requirementsInfo(id string, patch mfa.State) *abs.RequestInformation {
	info := abs.NewRequestInformation()
	u, _ := url.Parse(c.beta.GetBaseUrl() + "/users/" + url.PathEscape(id) + "/authentication/requirements")
	info.SetUri(*u)
	info.Headers.TryAdd("Accept", "application/json")
	if patch == "" {
		info.Method = abs.GET
		return info
	}
	info.Method = abs.PATCH
	body, _ := json.Marshal(map[string]string{"perUserMfaState": string(patch)})
	info.SetStreamContentAndContentType(body, "application/json")
	return info
}

// signInPreferencesInfo is GET or PATCH /beta/users/{id}/authentication/signInPreferences (the
// default method), likewise without a v1.0 model.
func (c *client) signInPreferencesInfo(id, preferred string) *abs.RequestInformation {
	info := abs.NewRequestInformation()
	u, _ := url.Parse(c.beta.GetBaseUrl() + "/users/" + url.PathEscape(id) + "/authentication/signInPreferences")
	info.SetUri(*u)
	info.Headers.TryAdd("Accept", "application/json")
	if preferred == "" {
		info.Method = abs.GET
		return info
	}
	info.Method = abs.PATCH
	body, _ := json.Marshal(map[string]string{"userPreferredMethodForSecondaryAuthentication": preferred})
	info.SetStreamContentAndContentType(body, "application/json")
	return info
}

func (c *client) user(id string) *users.UserItemRequestBuilder {
	return users.NewUsersRequestBuilderInternal(map[string]string{}, c.v1).ByUserId(id)
}

// methodsInfo is GET /beta/users/{id}/authentication/methods. Beta, not v1.0: v1.0 lists "only the
// methods supported on this API version" and has no hardware OATH tokens (SPEC §8), which a user
// may hold and "provide contact methods again" must delete. Read on beta, a user's state, default
// method and methods go in one op (the same API version, one $batch).
func (c *client) methodsInfo(id string) *abs.RequestInformation {
	info := abs.NewRequestInformation()
	u, _ := url.Parse(c.beta.GetBaseUrl() + "/users/" + url.PathEscape(id) + "/authentication/methods")
	info.SetUri(*u)
	info.Method = abs.GET
	info.Headers.TryAdd("Accept", "application/json")
	return info
}

// stateFromRequirements reads a GET requirements answer.
func stateFromRequirements(s *step) (mfa.State, *failure) {
	var r struct {
		State string `json:"perUserMfaState"`
	}
	if err := s.decode(&r); err != nil || !mfa.State(r.State).Valid() {
		return "", &failure{msg: fmt.Sprintf("a malformed answer to GET requirements: perUserMfaState %q", r.State)}
	}
	return mfa.State(r.State), nil
}

// readOp reads a user's state, registered methods and, when withDefault, the default method
// (signInPreferences) into st: three independent GETs on beta in one op. done runs once they are
// read or the op failed (st.fail is set then).
func (c *client) readOp(id string, st *userState, withDefault bool, done func()) *op {
	req := &step{info: c.requirementsInfo(id, ""), units: 1}
	methods := &step{info: c.methodsInfo(id), units: 1}
	o := &op{beta: true, steps: []*step{req, methods}}
	var pref *step
	if withDefault {
		pref = &step{info: c.signInPreferencesInfo(id, ""), units: 1}
		o.steps = append(o.steps, pref)
	}
	o.then = func(o *op) {
		defer func() {
			if done != nil {
				done()
			}
		}()
		if o.fail != nil {
			st.fail = o.fail
			return
		}
		state, f := stateFromRequirements(req)
		if f != nil {
			st.fail = f
			return
		}
		ms, err := parseMethods(methods)
		if err != nil {
			st.fail = &failure{msg: "a malformed answer to GET methods: " + err.Error()}
			return
		}
		st.state, st.methods, st.readAt = state, ms, c.cfg.Now().UTC()
		if pref != nil {
			var p struct {
				Preferred *string `json:"userPreferredMethodForSecondaryAuthentication"`
			}
			_ = pref.decode(&p)
			st.defaultRead = true
			markDefault(st.methods, deref(p.Preferred))
		}
	}
	return o
}

// markDefault marks the first method of the kind signInPreferences names as the default.
func markDefault(ms []graphMethod, preferred string) {
	kinds := map[string][]mfa.MethodType{
		"push": {mfa.MethodAuthenticatorPush}, "oath": {mfa.MethodSoftwareOTP, mfa.MethodHardwareOTP},
		"sms": {mfa.MethodMobilePhone}, "voiceMobile": {mfa.MethodMobilePhone},
		"voiceAlternateMobile": {mfa.MethodAlternateMobilePhone}, "voiceOffice": {mfa.MethodOfficePhone},
	}[preferred]
	found := false
	for i := range ms {
		ms[i].isDefault = false
		for _, k := range kinds {
			if !found && ms[i].typ == k {
				ms[i].isDefault, found = true, true
			}
		}
	}
}

// parseMethods reads a GET methods answer with the SDK's models (their @odata.type discriminators)
// into the portal's method types; the password method is left out, and so are kinds the portal
// does not show (Windows Hello, passkeys on a platform, temporary access passes).
func parseMethods(s *step) ([]graphMethod, error) {
	b, err := json.Marshal(s.body)
	if err != nil {
		return nil, err
	}
	node, err := jsonser.NewJsonParseNode(b)
	if err != nil {
		return nil, err
	}
	v, err := node.GetObjectValue(models.CreateAuthenticationMethodCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return nil, err
	}
	resp, ok := v.(models.AuthenticationMethodCollectionResponseable)
	if !ok || resp == nil {
		return nil, fmt.Errorf("not a collection of methods")
	}
	out := []graphMethod{}
	for _, m := range resp.GetValue() {
		if m == nil {
			continue
		}
		gm := graphMethod{id: deref(m.GetId())}
		switch t := m.(type) {
		case models.PasswordAuthenticationMethodable:
			continue
		case models.PhoneAuthenticationMethodable:
			switch pt := t.GetPhoneType(); {
			case pt == nil:
				continue
			case *pt == models.MOBILE_AUTHENTICATIONPHONETYPE:
				gm.typ = mfa.MethodMobilePhone
			case *pt == models.ALTERNATEMOBILE_AUTHENTICATIONPHONETYPE:
				gm.typ = mfa.MethodAlternateMobilePhone
			case *pt == models.OFFICE_AUTHENTICATIONPHONETYPE:
				gm.typ = mfa.MethodOfficePhone
			default:
				continue
			}
		case models.MicrosoftAuthenticatorAuthenticationMethodable:
			gm.typ = mfa.MethodAuthenticatorPush
		case models.SoftwareOathAuthenticationMethodable:
			gm.typ = mfa.MethodSoftwareOTP
		case models.Fido2AuthenticationMethodable:
			gm.typ = mfa.MethodFIDO2
		case models.EmailAuthenticationMethodable:
			gm.typ = mfa.MethodEmail
		default:
			// The v1.0 models have no hardware OATH token: recognise it by its type name.
			if strings.EqualFold(deref(m.GetOdataType()), "#microsoft.graph.hardwareOathAuthenticationMethod") {
				gm.typ = mfa.MethodHardwareOTP
			} else {
				continue
			}
		}
		if gm.id == "" {
			return nil, fmt.Errorf("a %s method without id", gm.typ)
		}
		out = append(out, gm)
	}
	return out, nil
}

// deleteInfo is the typed DELETE of a method: phoneMethods, microsoftAuthenticatorMethods,
// softwareOathMethods, fido2Methods, emailMethods (v1.0); hardwareOathMethods has no v1.0
// endpoint and goes to beta (the answer's second value is true then).
func (c *client) deleteInfo(userID string, m graphMethod) (*abs.RequestInformation, bool, error) {
	a, ctx := c.user(userID).Authentication(), context.Background() // ctx: only for building the request
	switch m.typ {
	case mfa.MethodMobilePhone, mfa.MethodAlternateMobilePhone, mfa.MethodOfficePhone:
		info, err := a.PhoneMethods().ByPhoneAuthenticationMethodId(m.id).ToDeleteRequestInformation(ctx, nil)
		return info, false, err
	case mfa.MethodAuthenticatorPush:
		info, err := a.MicrosoftAuthenticatorMethods().ByMicrosoftAuthenticatorAuthenticationMethodId(m.id).ToDeleteRequestInformation(ctx, nil)
		return info, false, err
	case mfa.MethodSoftwareOTP:
		info, err := a.SoftwareOathMethods().BySoftwareOathAuthenticationMethodId(m.id).ToDeleteRequestInformation(ctx, nil)
		return info, false, err
	case mfa.MethodFIDO2:
		info, err := a.Fido2Methods().ByFido2AuthenticationMethodId(m.id).ToDeleteRequestInformation(ctx, nil)
		return info, false, err
	case mfa.MethodEmail:
		info, err := a.EmailMethods().ByEmailAuthenticationMethodId(m.id).ToDeleteRequestInformation(ctx, nil)
		return info, false, err
	case mfa.MethodHardwareOTP:
		info := abs.NewRequestInformation()
		u, err := url.Parse(c.beta.GetBaseUrl() + "/users/" + url.PathEscape(userID) + "/authentication/hardwareOathMethods/" + url.PathEscape(m.id))
		if err != nil {
			return nil, true, err
		}
		info.Method = abs.DELETE
		info.SetUri(*u)
		return info, true, nil
	}
	return nil, false, fmt.Errorf("graph: cannot delete a method of type %q", m.typ)
}
