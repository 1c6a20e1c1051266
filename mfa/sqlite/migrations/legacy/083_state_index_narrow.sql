-- users_by_filters_name without the user-name key that 041 added (and 061 kept): a bulk update
-- moves this index's entry of every user whose state it changes, and the longer entries made a
-- state change of 100,000 users cost about 40 % more CPU. The few users of a class in one state,
-- when read to be sorted by user name, take their user-name key from their rows instead
-- (findpage.go). Never applied alone by a release: it ends the legacy path, so that a data folder
-- upgraded through these files has the index that 100_baseline.sql creates.
DROP INDEX users_by_filters_name;
CREATE INDEX users_by_filters_name ON users (account_enabled, privileged, methods_class, ca_covered, state, sort_key, id);
