-- Sign-in throttle counters (mfa.Throttle), per namespace ("admin", "user"): recent failures of an
-- account ("a:NAME") or an address ("ip:ADDRESS"), kept so that a restart does not reset them.
CREATE TABLE signin_throttle (
	namespace TEXT    NOT NULL,
	key       TEXT    NOT NULL,
	failures  INTEGER NOT NULL,
	last      INTEGER NOT NULL, -- unix ms of the last failure
	PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE INDEX signin_throttle_by_last ON signin_throttle (last);
