-- Sorted by user name with a status filter, a page's candidates come from an index without the
-- state (users_by_filters_upn, user_terms_by_prefixN_upn: a state change would move a second entry
-- of every user a bulk update changes). These indexes now carry the sort key, so that each
-- candidate's state is read by probing users_by_filters_name with its whole key, from the indexes
-- alone; and users_by_filters_name carries the user-name key, so that the users of a class in one
-- state, when few of its class are in that state, are read from it alone and sorted by user name
-- instead (findpage.go, docs/PERFORMANCE.md).
DROP INDEX users_by_filters_name;
DROP INDEX users_by_filters_upn;
CREATE INDEX users_by_filters_name ON users (account_enabled, privileged, methods_class, state, sort_key, id, upn_key);
CREATE INDEX users_by_filters_upn ON users (account_enabled, privileged, methods_class, upn_key, id, sort_key);

DROP INDEX user_terms_by_prefix1_upn;
DROP INDEX user_terms_by_prefix2_upn;
CREATE INDEX user_terms_by_prefix1_upn ON user_terms (substr(term, 1, 1), account_enabled, privileged, methods_class, upn_key, user_id, lcp, sort_key) WHERE lcp < 1;
CREATE INDEX user_terms_by_prefix2_upn ON user_terms (substr(term, 1, 2), account_enabled, privileged, methods_class, upn_key, user_id, lcp, sort_key) WHERE lcp < 2;
