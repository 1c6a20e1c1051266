-- Local accounts' authenticator apps (mfa.AccountMFAStore): the TOTP secret ('' when none), when it
-- was enrolled, and the last time step a code was accepted for (a code works once).
ALTER TABLE accounts ADD COLUMN totp_secret      TEXT    NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN totp_enrolled_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN totp_last_step   INTEGER NOT NULL DEFAULT 0;
