package graph

import (
	"fmt"
	"strings"
	"sync"

	"github.com/mfaportal/mfaportal/mfa"
)

// resetMethods is "Require selected users to provide contact methods again" (SPEC §1): every
// method but the password is deleted with its typed DELETE ("call the individual DELETE
// authentication method operations to delete each of the user's current authentication methods",
// v1.0 authenticationmethods-overview.md), in the order Graph accepts, one fully parallel step
// after another:
//
//  0. when the default is the alternate mobile phone and a mobile phone remains, the mobile phone is
//     made the default (PATCH signInPreferences): the mobile phone cannot go while the alternate
//     remains, and the default cannot go while any other method remains;
//  1. every method but the default and, while an alternate mobile phone remains, the mobile phone;
//  2. the mobile phone held back, unless it is the default;
//  3. the default method — also with system-preferred MFA on: the rule stays (graphemu's table);
//  4. a method Graph refused to delete as the default in step 1 or 2 (signInPreferences names a
//     kind, e.g. "oath", and the user has two of it; or the default changed meanwhile), once more,
//     now the last.
//
// When a method is kept (refused for good, or still failing), steps 3 and 4 are not tried: Graph
// refuses the default while another method remains. A delete answered
// 404 is done. Once the steps are done, the methods are read back (beta, as read.go explains) and
// done gets what Graph kept; when it kept any, the failure names them and gives Graph's message.
func (c *client) resetMethods(r *run, userID string, ms []graphMethod, done func(left []graphMethod, f *failure)) {
	x := &reset{c: c, r: r, userID: userID, done: done}
	var def *graphMethod
	alternate, mobile := false, -1
	for i := range ms {
		switch {
		case ms[i].isDefault && def == nil:
			def = &ms[i]
		case ms[i].typ == mfa.MethodMobilePhone:
			mobile = i
		}
		alternate = alternate || ms[i].typ == mfa.MethodAlternateMobilePhone
	}
	if def != nil && def.typ == mfa.MethodAlternateMobilePhone && mobile >= 0 {
		x.switchDefault = true
		x.phases[1] = append(x.phases[1], *def)
		def = &ms[mobile]
		mobile = -1
	}
	for i := range ms {
		switch {
		case def != nil && ms[i].id == def.id:
			x.phases[3] = append(x.phases[3], ms[i])
		case x.switchDefault && ms[i].typ == mfa.MethodAlternateMobilePhone:
			// in step 1 already
		case i == mobile && alternate:
			x.phases[2] = append(x.phases[2], ms[i])
		default:
			x.phases[1] = append(x.phases[1], ms[i])
		}
	}
	x.next(0)
}

// reset is one user's "provide contact methods again" on its way.
type reset struct {
	c             *client
	r             *run
	userID        string
	done          func([]graphMethod, *failure)
	switchDefault bool
	phases        [5][]graphMethod // 0 is the default's switch, not a delete

	mu      sync.Mutex
	pending int
	kept    []graphMethod // refused for good
	fail    *failure      // the first refusal
	retried bool          // a method Graph took for the default was moved to the last step
}

// next starts step i (or the read-back after the last).
func (x *reset) next(i int) {
	for ; i < len(x.phases); i++ {
		if i == 0 && x.switchDefault {
			break
		}
		if i > 0 && len(x.phases[i]) > 0 {
			break
		}
	}
	if i == len(x.phases) {
		x.readBack()
		return
	}
	if i >= 3 && len(x.kept) > 0 {
		// The default cannot go while a method Graph refused to delete remains: not even tried.
		for ; i < len(x.phases); i++ {
			x.kept = append(x.kept, x.phases[i]...)
		}
		x.readBack()
		return
	}
	if i == 0 {
		pref := &step{info: x.c.signInPreferencesInfo(x.userID, "voiceMobile"), units: 1, write: true}
		x.r.submit(&op{beta: true, steps: []*step{pref}, then: func(o *op) {
			if o.fail != nil {
				x.refused(o.fail, x.phases[1]...) // neither phone may go: keep them for the message
				x.phases[1] = nil
			}
			x.next(1)
		}})
		return
	}
	methods := x.phases[i]
	x.mu.Lock()
	x.pending = len(methods)
	x.mu.Unlock()
	for _, m := range methods {
		m := m
		info, beta, err := x.c.deleteInfo(x.userID, m)
		if err != nil {
			x.finishDelete(i, m, &failure{msg: err.Error()})
			continue
		}
		s := &step{info: info, units: 1, write: true, gone: true}
		x.r.submit(&op{beta: beta, steps: []*step{s}, then: func(o *op) { x.finishDelete(i, m, o.fail) }})
	}
}

// finishDelete notes the outcome of one delete of step i and starts the next step after the last.
func (x *reset) finishDelete(i int, m graphMethod, f *failure) {
	x.mu.Lock()
	switch {
	case f == nil:
	case i < 3 && !x.retried && isDefaultRefusal(f):
		x.phases[4] = append(x.phases[4], m)
		x.retried = true
	default:
		x.kept = append(x.kept, m)
		if x.fail == nil {
			x.fail = f
		}
	}
	x.pending--
	last := x.pending == 0
	x.mu.Unlock()
	if last {
		x.next(i + 1)
	}
}

func (x *reset) refused(f *failure, ms ...graphMethod) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.kept = append(x.kept, ms...)
	if x.fail == nil {
		x.fail = f
	}
}

// isDefaultRefusal reports Graph's refusal to delete the default method while others remain.
func isDefaultRefusal(f *failure) bool {
	return f.status == 400 && strings.Contains(strings.ToLower(f.msg), "default method")
}

// readBack reads the methods Graph kept and reports.
func (x *reset) readBack() {
	read := &step{info: x.c.methodsInfo(x.userID), units: 1}
	x.r.submit(&op{beta: true, steps: []*step{read}, then: func(o *op) {
		left := x.kept
		if o.fail == nil {
			if ms, err := parseMethods(read); err == nil {
				left = ms
			}
		}
		x.done(left, x.failure(left))
	}})
}

// failure says which methods Graph kept and why (nil when it kept none).
func (x *reset) failure(left []graphMethod) *failure {
	if len(left) == 0 {
		return nil
	}
	names := make([]string, len(left))
	for i, m := range left {
		names[i] = m.typ.Label()
	}
	f := &failure{status: 400, whole: true, msg: "they are still listed after the deletes"}
	if x.fail != nil {
		f = &failure{status: x.fail.status, code: x.fail.code, whole: true, msg: x.fail.msg}
	}
	f.msg = fmt.Sprintf("Microsoft Graph kept %s: %s", strings.Join(names, ", "), f.msg)
	return f
}
