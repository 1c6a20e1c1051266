package web

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// specRoutes is the permission each admin route needs, as SPEC §3 and the page or API it serves
// say, written out independently of routes.go. The walker (TestEveryRouteHasARule) proves the
// router enforces routes.go's table; this proves the table is the spec's: flipping any route's
// permission in routes.go fails here. A new admin route needs its row.
var specRoutes = map[string]mfa.Permission{
	"GET /":                                mfa.PermView,
	"GET /users":                           mfa.PermView,
	"GET /users/export":                    mfa.PermView,
	"GET /users/sync":                      mfa.PermView,
	"POST /users/sync":                     mfa.PermBulkUpdate,
	"GET /users/{upn}":                     mfa.PermView,
	"POST /users/confirm":                  mfa.PermManageSettings, // the weakest role with a quick step
	"POST /users/step":                     mfa.PermManageSettings,
	"POST /users/{upn}/setup-link":         mfa.PermManageSettings,
	"POST /users/{upn}/exemption":          mfa.PermChangeState,
	"POST /users/{upn}/exemption/end":      mfa.PermChangeState,
	"GET /exemptions":                      mfa.PermView,
	"GET /overview":                        mfa.PermView,
	"GET /conditional-access":              mfa.PermBulkUpdate, // SPEC §11: the move plans a bulk update
	"POST /conditional-access/plan":        mfa.PermBulkUpdate,
	"GET /registration":                    mfa.PermView,
	"GET /registration/export":             mfa.PermView,
	"GET /registration/template":           mfa.PermView,
	"POST /registration/template":          mfa.PermView, // preview for all; saving is the service's PermBulkUpdate
	"POST /registration/notify":            mfa.PermManageSettings,
	"GET /audit":                           mfa.PermView,
	"GET /audit/export":                    mfa.PermView,
	"GET /settings":                        mfa.PermView,
	"POST /settings":                       mfa.PermSaveSettings,
	"GET /bulk":                            mfa.PermBulkUpdate,
	"POST /bulk":                           mfa.PermBulkUpdate,
	"GET /bulk/template.csv":               mfa.PermBulkUpdate,
	"GET /bulk/{id}":                       mfa.PermBulkUpdate,
	"GET /bulk/{id}/status":                mfa.PermBulkUpdate,
	"GET /bulk/{id}/errors.csv":            mfa.PermBulkUpdate,
	"GET /bulk/{id}/results.csv":           mfa.PermBulkUpdate,
	"POST /bulk/{id}/start":                mfa.PermBulkUpdate,
	"POST /bulk/{id}/back":                 mfa.PermBulkUpdate,
	"POST /bulk/{id}/cancel":               mfa.PermBulkUpdate,
	"POST /bulk/{id}/undo":                 mfa.PermBulkUpdate,
	"GET /accounts":                        mfa.PermAdminister,
	"POST /accounts":                       mfa.PermAdminister,
	"POST /accounts/remove":                mfa.PermAdminister,
	"GET /tokens":                          mfa.PermAdminister,
	"POST /tokens":                         mfa.PermAdminister,
	"POST /tokens/revoke":                  mfa.PermAdminister,
	"GET /account/security":                mfa.PermView, // everyone's own sign-in security
	"POST /account/security/enrol":         mfa.PermView,
	"POST /account/security/remove":        mfa.PermView,
	"GET /api/v1/users":                    mfa.PermView,
	"GET /api/v1/users/{upn}":              mfa.PermView,
	"POST /api/v1/users/{upn}/state":       mfa.PermChangeState,
	"POST /api/v1/users/{upn}/reset":       mfa.PermManageSettings,
	"POST /api/v1/users/{upn}/exemption":   mfa.PermChangeState,
	"DELETE /api/v1/users/{upn}/exemption": mfa.PermChangeState,
	"GET /api/v1/audit":                    mfa.PermView,
	"GET /api/v1/settings":                 mfa.PermView,
	"PUT /api/v1/settings":                 mfa.PermSaveSettings,
	"POST /api/v1/bulk":                    mfa.PermBulkUpdate,
	"GET /api/v1/bulk/{id}":                mfa.PermBulkUpdate,
	"POST /api/v1/bulk/{id}/cancel":        mfa.PermBulkUpdate,
	"GET /api/v1/bulk/{id}/results.csv":    mfa.PermBulkUpdate,
}

// routeTableDiffs compares a permission table with specRoutes.
func routeTableDiffs(rules map[string]rule) []string {
	var diffs []string
	for key, r := range rules {
		if r.public || r.user != nil || r.basic {
			continue
		}
		want, ok := specRoutes[key]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s (%s) has no row in specRoutes", key, r.perm))
		case r.perm != want:
			diffs = append(diffs, fmt.Sprintf("%s needs %s, the table says %s", key, want, r.perm))
		}
	}
	for key := range specRoutes {
		if r, ok := rules[key]; !ok || r.public || r.user != nil || r.basic {
			diffs = append(diffs, fmt.Sprintf("%s is in the spec but not an admin route", key))
		}
	}
	slices.Sort(diffs)
	return diffs
}

func TestRouteTableIsTheSpec(t *testing.T) {
	e := newTestEnv(t)
	for _, d := range routeTableDiffs(e.app.rules) {
		t.Error(d)
	}
	// Each route's permission flipped to any other, or the route made public, is found.
	others := []mfa.Permission{mfa.PermView, mfa.PermChangeState, mfa.PermManageSettings, mfa.PermBulkUpdate, mfa.PermSaveSettings, mfa.PermAdminister}
	for key, r := range e.app.rules {
		if r.public || r.user != nil || r.basic {
			continue
		}
		for _, flipped := range append([]rule{{public: true}}, func() (out []rule) {
			for _, p := range others {
				if p != r.perm {
					out = append(out, rule{perm: p})
				}
			}
			return out
		}()...) {
			mutated := map[string]rule{}
			for k, v := range e.app.rules {
				mutated[k] = v
			}
			mutated[key] = flipped
			if len(routeTableDiffs(mutated)) == 0 {
				t.Errorf("flipping %s to %+v goes unnoticed", key, flipped)
			}
		}
	}
}
