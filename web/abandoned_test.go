package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/handlers"
	"github.com/mfaportal/mfaportal/mfa"
)

// A sign-in whose client went away (the browser closed, the connection dropped) is no server
// error: it is logged at INFO as the client's leaving, with status 499, never as ERROR and 500.
func TestAbandonedSignInIsNoServerError(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	e.signedInUser() // step.user@contoso.com with a password
	for _, tc := range []struct{ path, user, password string }{
		{"/signin", string(mfa.RoleReader), testPassword},
		{"/my/signin", "step.user@contoso.com", userPassword},
	} {
		before := len(e.logs.String())
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the client is gone before the server gets to the password
		body := url.Values{"username": {tc.user}, "password": {tc.password}}.Encode()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, tc.path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		e.app.Handler().ServeHTTP(rec, req)
		logs := e.logs.String()[before:]
		if rec.Code != handlers.StatusClientClosed || strings.Contains(logs, "level=ERROR") ||
			!strings.Contains(logs, `level=INFO msg="client closed the request"`) || !strings.Contains(logs, "status=499") {
			t.Errorf("%s abandoned: %d, logs:\n%s", tc.path, rec.Code, logs)
		}
	}
}
