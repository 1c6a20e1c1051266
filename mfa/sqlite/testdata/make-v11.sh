#!/usr/bin/env bash
# Makes a data folder with the release binary (commit 0f60518, schema 11): demo users, imported users,
# local accounts, an API token, a finished bulk job (CLI) and one from the API, changed settings, state
# changes with reasons, a signed-in session.
set -euo pipefail
BIN=$1; D=$2
rm -rf "$D"; mkdir -p "$D"
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
export MFAPORTAL_ADMIN_PASSWORD='fixture-admin-pw-0f60518'
"$BIN" serve --data "$D" --addr 127.0.0.1:$PORT --demo-users 120 >"$D/../serve1.log" 2>&1 &
PID=$!
for i in $(seq 50); do curl -fs http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.2; done
kill -TERM $PID; wait $PID || true
printf 'helpdesk-password-1\n' | "$BIN" accounts add Helen --role helpdesk --data "$D"
printf 'reader-password-123\n' | "$BIN" accounts add rita --role reader --data "$D"
TOKEN=$("$BIN" tokens create --name automation --role global-admin --data "$D" | tail -1)
"$BIN" tokens create --name old-script --role reader --data "$D" >/dev/null
"$BIN" tokens revoke old-script --data "$D"
cat >"$D/../import.csv" <<'CSV'
UserPrincipalName,DisplayName,MFA Status,AccountEnabled,Admin,Methods
zoe.oconnor@contoso.example,Zoë O'Connor,Enabled,true,false,mobilePhone
andre.muller@contoso.example,André Müller,Enforced,true,true,microsoftAuthenticatorPush softwareOneTimePasscode
blocked.bob@contoso.example,Bob Blocked,Disabled,false,false,
CSV
"$BIN" users import "$D/../import.csv" --data "$D"
"$BIN" users export --data "$D" | head -4 | tail -3 | sed 's/,[^,]*$//' >/dev/null
printf 'Username,MFA Status\nzoe.oconnor@contoso.example,Enforced\nblocked.bob@contoso.example,Enabled\nnobody@contoso.example,Enabled\n' >"$D/../bulk.csv"
"$BIN" bulk apply "$D/../bulk.csv" --yes --reason "CHG-1 fixture" --data "$D" || true
"$BIN" serve --data "$D" --addr 127.0.0.1:$PORT --demo-users 120 >"$D/../serve2.log" 2>&1 &
PID=$!
for i in $(seq 50); do curl -fs http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.2; done
A="Authorization: Bearer $TOKEN"
curl -fsS -X PUT -H "$A" -H 'Content-Type: application/json' http://127.0.0.1:$PORT/api/v1/settings \
  -d '{"appPasswordsAllowed":true,"trustedIps":{"skipForFederatedIntranet":true,"skipForRanges":true,"ranges":["203.0.113.0/24","198.51.100.7/32"]},"verificationOptions":{"call":false,"sms":true,"appNotification":true,"appCode":true},"rememberMfa":{"enabled":true,"days":30}}'; echo
curl -fsS -X POST -H "$A" -H 'Content-Type: application/json' http://127.0.0.1:$PORT/api/v1/users/andre.muller@contoso.example/state -d '{"state":"disabled","reason":"INC-42 lost phone"}' >/dev/null
curl -fsS -X POST -H "$A" -H 'Content-Type: application/json' http://127.0.0.1:$PORT/api/v1/users/andre.muller@contoso.example/reset -d '{"contactMethods":false,"appPasswords":true,"rememberedDevices":true,"reason":"INC-42"}' >/dev/null
curl -fsS -X POST -H "$A" -H 'Content-Type: text/csv' --data-binary $'Username,MFA Status\nandre.muller@contoso.example,Enabled\nzoe.oconnor@contoso.example,Disabled\n' http://127.0.0.1:$PORT/api/v1/bulk; echo
curl -fsS -c "$D/../cookies" -o /dev/null -X POST --data-urlencode "username=admin" --data-urlencode "password=$MFAPORTAL_ADMIN_PASSWORD" http://127.0.0.1:$PORT/signin -w "%{http_code}\n" || true
sleep 2
kill -TERM $PID; wait $PID || true
# One self-contained file: fold the write-ahead log in.
sqlite3 "$D/mfaportal.db" 'PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;' >/dev/null
