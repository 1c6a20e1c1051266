package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// APIUser is a user in the JSON API (SPEC §5).
type APIUser struct {
	ID                         string       `json:"id"`
	UserPrincipalName          string       `json:"userPrincipalName"`
	DisplayName                string       `json:"displayName"`
	AccountEnabled             bool         `json:"accountEnabled"`
	Privileged                 bool         `json:"privileged"`
	PerUserMfaState            mfa.State    `json:"perUserMfaState"`
	Methods                    []mfa.Method `json:"methods"`
	AppPasswords               int          `json:"appPasswords"`
	RememberedDevicesNotBefore *time.Time   `json:"rememberedDevicesNotBefore"`
	StateReadAt                *time.Time   `json:"stateReadAt"`
	Version                    int64        `json:"version"`
	// ConditionalAccess and SecurityDefaults are the user's coverage (SPEC §11), where the
	// directory evaluated it (Microsoft Graph); absent otherwise.
	ConditionalAccess *APICoverage `json:"conditionalAccess,omitempty"`
	SecurityDefaults  *bool        `json:"securityDefaults,omitempty"`
}

// APICoverage is a user's Conditional Access coverage: status "required" (with the enabled policies
// that require MFA), "reportOnly" (with the report-only policies that would) or "none".
type APICoverage struct {
	Status   mfa.CAStatus `json:"status"`
	Policies []string     `json:"policies"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// NewAPIUser converts a domain user to its API form.
func NewAPIUser(u *mfa.User) APIUser {
	methods := u.Methods
	if methods == nil {
		methods = []mfa.Method{}
	}
	out := APIUser{
		ID: u.ID, UserPrincipalName: u.UPN, DisplayName: u.DisplayName, AccountEnabled: u.AccountEnabled,
		Privileged: u.Privileged, PerUserMfaState: u.State, Methods: methods, AppPasswords: u.AppPasswords,
		RememberedDevicesNotBefore: timePtr(u.RememberedDevicesNotBefore), StateReadAt: timePtr(u.StateReadAt),
		Version: u.Version,
	}
	if c := u.Coverage; c.Known() {
		policies := c.Policies
		if policies == nil {
			policies = []string{}
		}
		out.ConditionalAccess = &APICoverage{Status: c.Status, Policies: policies}
		out.SecurityDefaults = &c.SecurityDefaults
	}
	return out
}

// APIUserList is GET /api/v1/users's answer.
type APIUserList struct {
	Users      []APIUser `json:"users"`
	Total      int       `json:"total"`
	NextCursor *string   `json:"nextCursor"`
}

// apiListParams are the parameters of GET /api/v1/users.
var apiListParams = []string{"view", "status", "privileged", "methods", "coverage", "q", "sort", "order", "limit", "cursor"}

// APIListUsers is GET /api/v1/users?view=&status=&privileged=&methods=&q=&sort=&order=&limit=&cursor=.
// Every parameter is checked by mfa.UserFilter.Validate; a bad one is 400 naming it.
func (h *Handlers) APIListUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains(apiListParams, k) {
			h.APIErrorResponse(w, r, mfa.FieldErrorf(k, "unknown parameter %q: expected %s", k, strings.Join(apiListParams, ", ")))
			return
		}
	}
	view, err := mfa.ParseView(q.Get("view"), mfa.ViewAll)
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	limit := mfa.DefaultLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > mfa.MaxLimit {
			h.APIErrorResponse(w, r, mfa.FieldErrorf("limit", "limit must be a whole number from 1 to %d, found %q", mfa.MaxLimit, s))
			return
		}
		limit = n
	}
	f := mfa.UserFilter{View: view, Status: mfa.StatusFilter(q.Get("status")), Query: q.Get("q"), Limit: limit, After: q.Get("cursor"),
		Sort: mfa.SortField(q.Get("sort")), Order: mfa.SortOrder(q.Get("order"))}
	for _, c := range mfa.Choices {
		c.Set(&f, q.Get(c.Param))
	}
	page, err := h.Service.ListUsers(r.Context(), Actor(r), f)
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	out := APIUserList{Users: make([]APIUser, 0, len(page.Users)), Total: page.Total}
	for _, u := range page.Users {
		out.Users = append(out.Users, NewAPIUser(u))
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	WriteJSON(w, http.StatusOK, out)
}

// APIGetUser is GET /api/v1/users/{upn}.
func (h *Handlers) APIGetUser(w http.ResponseWriter, r *http.Request) {
	upn, err := url.PathUnescape(chi.URLParam(r, "upn"))
	if err != nil {
		upn = chi.URLParam(r, "upn")
	}
	u, err := h.Service.GetUser(r.Context(), Actor(r), upn)
	if err != nil {
		h.APIErrorResponse(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, NewAPIUser(u))
}
