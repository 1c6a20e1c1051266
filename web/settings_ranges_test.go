package web

import (
	"context"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// SPEC §5: "ranges" is a list; saved empty it reads back [] (it read back null, which breaks a
// client that takes its length).
func TestSettingsAPIRangesAlwaysAList(t *testing.T) {
	e := newTestEnv(t)
	secret, _, err := e.app.svc.CreateToken(context.Background(), mfa.CLIActor, "ops", mfa.RoleGlobalAdmin)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"appPasswordsAllowed":true,"trustedIps":{"skipForFederatedIntranet":false,"skipForRanges":false,"ranges":[]},` +
		`"verificationOptions":{"call":true,"sms":true,"appNotification":true,"appCode":true},"rememberMfa":{"enabled":true,"days":7}}`
	for _, call := range [][2]string{{"PUT", body}, {"GET", ""}} {
		code, out, _ := e.apiCall(call[0], "/api/v1/settings", "Bearer "+secret, call[1])
		ips, _ := out["trustedIps"].(map[string]any)
		if ranges, ok := ips["ranges"].([]any); code != 200 || !ok || len(ranges) != 0 {
			t.Errorf("%s /api/v1/settings: %d, ranges %#v", call[0], code, ips["ranges"])
		}
	}
}
