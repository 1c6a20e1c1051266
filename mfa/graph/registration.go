package graph

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/mfaportal/mfaportal/mfa"
)

// Registration in one paged read (SPEC §11): GET /v1.0/reports/authenticationMethods/
// userRegistrationDetails gives every user's registered methods and default method, a page of
// records per request, instead of one request per user (half of a full sync's requests). It needs
// AuditLog.Read.All (or UserAuthenticationMethod.Read.All) and a Microsoft Entra ID P1 or P2 licence
// (authenticationmethods-usage-insights-overview.md); without either Graph answers 403, and the sync
// reads each user's methods as before and says why on the sync status. A record is as of its
// lastUpdatedDateTime: a change the portal made and read back later is kept (mfa.ExternalUser.MethodsAt).

// regRecord is one user's record, compact (a tenant of a million users is read before its pages
// are written): the methods in the report's order, each as its index in mfa.MethodTypes plus one in
// four bits (each type once: eight fit), the default's signInPreferences name, when.
type regRecord struct {
	methods   uint32
	preferred string
	at        time.Time
}

// add appends a method type unless it is there.
func (r *regRecord) add(t mfa.MethodType) {
	k := uint32(slices.Index(mfa.MethodTypes, t) + 1)
	for m := r.methods; m != 0; m >>= 4 {
		if m&0xf == k {
			return
		}
	}
	for shift := 0; shift < 32; shift += 4 {
		if r.methods>>shift&0xf == 0 {
			r.methods |= k << shift
			return
		}
	}
}

// methodOfReport maps methodsRegistered names (userregistrationdetails.md) to the portal's types:
// the portal's names are Graph's; the passwordless Authenticator is the Authenticator app, a passkey
// a FIDO2 key (as the methods list has them); the others (Windows Hello, temporary access pass,
// security questions...) are not shown, as when the methods are read one user at a time.
func methodOfReport(name string) (mfa.MethodType, bool) {
	switch name {
	case "microsoftAuthenticatorPasswordless":
		return mfa.MethodAuthenticatorPush, true
	case "passKeyDeviceBound", "passKeyDeviceBoundAuthenticator":
		return mfa.MethodFIDO2, true
	}
	for _, t := range mfa.MethodTypes {
		if string(t) == name {
			return t, true
		}
	}
	return "", false
}

// methods are the record's methods, the default marked (markDefault: the names are
// signInPreferences').
func (r regRecord) domainMethods() []mfa.Method {
	var ms []graphMethod
	for m := r.methods; m != 0; m >>= 4 {
		ms = append(ms, graphMethod{typ: mfa.MethodTypes[m&0xf-1]})
	}
	markDefault(ms, r.preferred)
	st := userState{methods: ms}
	return st.domainMethods()
}

// registrationReport is the report read beside a full sync: decided is closed once its first page
// answered (ok says the report can be read), done once it is read in full or failed.
type registrationReport struct {
	decided, done chan struct{}
	ok            bool   // the first page came: methods come from the report
	failed        bool   // it stopped later: the pages not yet written read methods user by user
	note          string // why the methods were read user by user
	records       map[guid]regRecord
	others        map[string]regRecord
	mu            sync.Mutex
}

// readRegistration starts reading the report in the background.
func (c *client) readRegistration(ctx context.Context) *registrationReport {
	r := &registrationReport{decided: make(chan struct{}), done: make(chan struct{}), records: map[guid]regRecord{}, others: map[string]regRecord{}}
	go func() {
		defer close(r.done)
		err := c.readRegistrationPages(ctx, r)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err == nil {
			return
		}
		r.note = registrationNote(err)
		if r.ok {
			r.failed = true
		} else {
			close(r.decided)
		}
	}()
	return r
}

func (c *client) readRegistrationPages(ctx context.Context, r *registrationReport) error {
	next := ""
	for {
		v, err := c.get(ctx, func() *abs.RequestInformation {
			return c.getInfo(false, "/reports/authenticationMethods/userRegistrationDetails", next, nil)
		}, models.CreateUserRegistrationDetailsCollectionResponseFromDiscriminatorValue)
		if err != nil {
			return err
		}
		page, ok := v.(models.UserRegistrationDetailsCollectionResponseable)
		if !ok {
			return &failure{msg: "a malformed answer to GET /reports/authenticationMethods/userRegistrationDetails"}
		}
		r.mu.Lock()
		for _, d := range page.GetValue() {
			if d == nil || deref(d.GetId()) == "" {
				continue
			}
			var rec regRecord
			for _, name := range d.GetMethodsRegistered() {
				if t, ok := methodOfReport(name); ok {
					rec.add(t)
				}
			}
			if p := d.GetUserPreferredMethodForSecondaryAuthentication(); p != nil {
				rec.preferred = p.String()
			}
			if at := d.GetLastUpdatedDateTime(); at != nil {
				rec.at = at.UTC()
			}
			if g, ok := parseGUID(deref(d.GetId())); ok {
				r.records[g] = rec
			} else {
				r.others[deref(d.GetId())] = rec
			}
		}
		if !r.ok {
			r.ok = true
			close(r.decided)
		}
		r.mu.Unlock()
		if next = deref(page.GetOdataNextLink()); next == "" {
			return nil
		}
	}
}

// registrationNote says why the report could not be used, for the sync status.
func registrationNote(err error) string {
	if errors.Is(err, context.Canceled) {
		return "the sync was stopped while reading the registration report"
	}
	f := failureOf(err)
	const perUser = "Registered methods were read one user at a time: "
	switch {
	case f.status == http.StatusForbidden && f.code == "Authentication_RequestFromNonPremiumTenantOrB2CTenant":
		return perUser + "the registration report (userRegistrationDetails) needs a Microsoft Entra ID P1 or P2 licence, which the tenant does not have (Microsoft Graph: " + f.msg + ")."
	case f.status == http.StatusForbidden:
		return perUser + "Microsoft Graph refused to read the registration report (" + f.msg + "): grant the application AuditLog.Read.All, with admin consent, to read it in one go."
	}
	return perUser + "the registration report could not be read (" + f.msg + ")."
}

// perUser waits for the report's first answer and reports whether methods must be read user by user.
func (r *registrationReport) perUser(ctx context.Context) (bool, error) {
	select {
	case <-r.decided:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.ok, nil
}

// complete waits for the whole report; false when it failed on the way (the caller reads methods
// user by user then).
func (r *registrationReport) complete(ctx context.Context) (bool, error) {
	select {
	case <-r.done:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.failed, nil
}

// record is the user's record, if the report has one.
func (r *registrationReport) record(id string) (regRecord, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if g, ok := parseGUID(id); ok {
		rec, ok := r.records[g]
		return rec, ok
	}
	rec, ok := r.others[id]
	return rec, ok
}

// used reports whether the report gave the methods of the whole sync, and why not.
func (r *registrationReport) used() (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok && !r.failed, r.note
}
