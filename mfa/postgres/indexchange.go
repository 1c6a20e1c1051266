package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// What reading a user of the remote directory again changes of it (IndexUsers), as mfa/sqlite
// decides it.

// readTimes are new read times of users (a zero methods time keeps the indexed one).
type readTimes struct {
	ids, state, methods []int64
}

func (r *readTimes) add(id int64, state, methods time.Time) {
	r.ids, r.state, r.methods = append(r.ids, id), append(r.state, toMillis(state)), append(r.methods, toMillis(methods))
}

func (r *readTimes) store(ctx context.Context, tx pgx.Tx) error {
	if len(r.ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE users u SET state_read_at = v.s, methods_read_at = CASE v.m WHEN 0 THEN u.methods_read_at ELSE v.m END
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v (id, s, m) WHERE u.id = v.id`, r.ids, r.state, r.methods)
	return err
}

// newIndexed is the user a remote user is indexed as the first time: Disabled, not privileged and
// its coverage unknown unless read.
func newIndexed(iu *mfa.ExternalUser) *mfa.User {
	u := &mfa.User{UPN: iu.UPN, DisplayName: iu.DisplayName, AccountEnabled: iu.AccountEnabled, State: mfa.StateDisabled,
		Privileged: iu.PrivilegedRead && iu.Privileged, StateReadAt: iu.ReadAt}
	if iu.CoverageRead {
		u.Coverage = iu.Coverage
	}
	if iu.StateRead {
		u.State, u.Methods = iu.State, mfa.NormalizeMethods(iu.Methods)
	}
	return u
}

// indexChanges is what reading a user again changed.
type indexChanges struct {
	changed     bool // what the portal shows of it: a new version
	stateNews   bool // the state read is newer than the indexed one
	methodsNews bool // so are the methods read (as of methodsAt)
	methodsAt   time.Time
}

// indexChange applies what was read of a user to after, as mfa/sqlite does. A state read before the
// one indexed (a sync's page read while the user was changed through the portal) is older news: the
// newer is kept. Methods from the registration report (MethodsAt) are kept out likewise when the
// index read the user's methods (at methodsReadAt) after the report's record.
func indexChange(iu *mfa.ExternalUser, before, after *mfa.User, methodsReadAt time.Time) indexChanges {
	after.UPN, after.DisplayName, after.AccountEnabled = iu.UPN, iu.DisplayName, iu.AccountEnabled
	if iu.PrivilegedRead {
		after.Privileged = iu.Privileged
	}
	if iu.CoverageRead {
		after.Coverage = iu.Coverage
	}
	ch := indexChanges{stateNews: iu.StateRead && !before.StateReadAt.After(iu.ReadAt), methodsAt: iu.ReadAt}
	ch.methodsNews = ch.stateNews
	if !iu.MethodsAt.IsZero() {
		ch.methodsAt = iu.MethodsAt
		ch.methodsNews = ch.stateNews && !methodsReadAt.After(iu.MethodsAt)
	}
	if ch.methodsNews {
		methods := iu.Methods
		if !iu.DefaultRead {
			methods = keepDefault(before.Methods, methods)
		}
		after.Methods = mfa.NormalizeMethods(methods)
	}
	if ch.stateNews {
		if after.State != iu.State {
			after.State = iu.State
			after.HadMethodsWhenReenabled = false
		}
		after.StateReadAt = iu.ReadAt
	}
	ch.changed = before.UPN != after.UPN || before.DisplayName != after.DisplayName || before.AccountEnabled != after.AccountEnabled ||
		before.Privileged != after.Privileged || before.State != after.State ||
		mfa.FormatMethodList(before.Methods) != mfa.FormatMethodList(after.Methods) || !sameCoverage(before.Coverage, after.Coverage)
	return ch
}

// keepDefault marks as default the method of next whose type was the default in prev.
func keepDefault(prev, next []mfa.Method) []mfa.Method {
	def := ""
	for _, m := range prev {
		if m.IsDefault {
			def = string(m.Type)
		}
	}
	out := slices.Clone(next)
	for i := range out {
		out[i].IsDefault = def != "" && string(out[i].Type) == def
	}
	return out
}
