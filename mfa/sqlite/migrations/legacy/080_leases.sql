-- Leases (mfa.LeaseStore): which process runs the bulk jobs. epoch grows with every take-over;
-- expires_at is unix ms.
CREATE TABLE leases (
	name       TEXT    NOT NULL PRIMARY KEY,
	holder     TEXT    NOT NULL,
	epoch      INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
