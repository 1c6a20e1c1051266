package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestSchemaSameEveryWay: a new data folder (the baseline and the migrations after it), the
// release's (schema 11, upgraded through the legacy files) and those of development builds of the
// round (with and without schema_migrations, missing migrations that landed late) end with the
// same schema, recorded as at the latest migration.
func TestSchemaSameEveryWay(t *testing.T) {
	ctx := context.Background()
	fresh := openTest(t)
	want := schemaOf(t, fresh.db)
	checkAtLatest(t, fresh.db)

	legacy, err := legacyMigrations()
	if err != nil {
		t.Fatal(err)
	}
	without := func(skip ...int) []migration {
		return slices.DeleteFunc(slices.Clone(legacy), func(m migration) bool { return slices.Contains(skip, m.version) })
	}
	var beforeTracking []migration // what a build from before schema_migrations could have applied
	for _, m := range legacy {
		if slices.Contains(trackedSince, m.version) {
			beforeTracking = append(beforeTracking, m)
		}
	}
	for _, c := range []struct {
		name    string
		applied []migration
		dropLog bool // as a build from before schema_migrations left it
	}{
		{"a development build without 061, 081, 082", without(61, 81, 82, 83), false},
		{"a development build from before schema_migrations", beforeTracking, true},
		{"an upgrade stopped before it was recorded at the baseline", legacy, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mfaportal.db")
			raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_txlock=immediate")
			if err != nil {
				t.Fatal(err)
			}
			if err := (&DB{db: raw, Path: path}).migrateWith(ctx, c.applied); err != nil {
				t.Fatal(err)
			}
			if c.dropLog {
				if _, err := raw.Exec("DROP TABLE schema_migrations"); err != nil {
					t.Fatal(err)
				}
			}
			raw.Close()
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			sameSchema(t, want, schemaOf(t, db.db))
			checkAtLatest(t, db.db)
		})
	}
	t.Run("the release", func(t *testing.T) {
		db := openRelease(t)
		sameSchema(t, want, schemaOf(t, db.db))
		checkAtLatest(t, db.db)
	})
}

// TestNewerDataFolderRefused: a data folder from a newer binary (a higher user_version, or a
// migration recorded that this binary does not know) is refused with a clear message and left as
// it was; so is a legacy folder with a legacy migration this binary does not know.
func TestNewerDataFolderRefused(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, change, msg string
	}{
		{"a higher schema", "PRAGMA user_version = 999", "newer mfaportal (schema 999, this binary knows 101)"},
		{"an unknown migration", "INSERT INTO schema_migrations VALUES (105, 0)", "it has schema migration 105, which this binary does not know"},
		{"an unknown migration of the round", "DELETE FROM schema_migrations; INSERT INTO schema_migrations VALUES (42, 0); PRAGMA user_version = 42", "it has schema migration 42"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mfaportal.db")
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.db.Exec(c.change); err != nil {
				t.Fatal(err)
			}
			before := schemaOf(t, db.db)
			log := migrationLog(t, db.db)
			db.Close()
			if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("opened: %v, want %q", err, c.msg)
			}
			raw, _ := sql.Open("sqlite", path)
			defer raw.Close()
			sameSchema(t, before, schemaOf(t, raw))
			if after := migrationLog(t, raw); after != log {
				t.Errorf("schema_migrations changed: %s, was %s", after, log)
			}
		})
	}
}

// TestBaselineVersion: the baseline is the first migration; its version is above the release's
// schema (so that the release refuses a baselined folder as newer) and every legacy number.
func TestBaselineVersion(t *testing.T) {
	all, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := legacyMigrations()
	if err != nil {
		t.Fatal(err)
	}
	const releaseSchema = 11 // testdata/v11.db.gz
	if all[0].version != baselineVersion || baselineVersion <= releaseSchema || baselineVersion <= legacy[len(legacy)-1].version {
		t.Fatalf("baseline %d, first migration %s, last legacy %s", baselineVersion, all[0].name, legacy[len(legacy)-1].name)
	}
	for _, v := range trackedSince {
		if !slices.ContainsFunc(legacy, func(m migration) bool { return m.version == v }) {
			t.Errorf("trackedSince names %d, which is not a legacy migration", v)
		}
	}
}

func checkAtLatest(t *testing.T, db *sql.DB) {
	t.Helper()
	all, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, m := range all {
		versions = append(versions, fmt.Sprint(m.version))
	}
	latest := all[len(all)-1].version
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != latest {
		t.Errorf("user_version %d (%v), want %d", v, err, latest)
	}
	if log := migrationLog(t, db); log != strings.Join(versions, " ") {
		t.Errorf("schema_migrations holds %s, want %s", log, strings.Join(versions, " "))
	}
	var deferred int
	if err := db.QueryRow("SELECT deferred FROM counts_deferred WHERE id = 1").Scan(&deferred); err != nil || deferred != 0 {
		t.Errorf("counts_deferred: %d %v", deferred, err)
	}
}

func migrationLog(t *testing.T, db *sql.DB) string {
	t.Helper()
	var log string
	if err := db.QueryRow("SELECT group_concat(version, ' ') FROM (SELECT version FROM schema_migrations ORDER BY version)").Scan(&log); err != nil {
		t.Fatal(err)
	}
	return log
}

// schemaOf lists what sqlite_schema holds, one line per object: type, name, table and its SQL
// without comments and with spaces normalized (a column added by ALTER TABLE, a table renamed,
// read the same as written in place). Tables and indexes are in name order; the triggers of a
// table in their order in sqlite_schema, which is part of the schema: SQLite fires a table's
// triggers newest first.
func schemaOf(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query("SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_schema ORDER BY rowid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	triggers := map[string]int{}
	for rows.Next() {
		var typ, name, table, text string
		if err := rows.Scan(&typ, &name, &table, &text); err != nil {
			t.Fatal(err)
		}
		order := name
		if typ == "trigger" {
			triggers[table]++
			order = fmt.Sprintf("%03d", triggers[table])
		}
		out = append(out, fmt.Sprintf("%s %s %s %s: %s", table, typ, order, name, normalizeSQL(text)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

var (
	sqlComment = regexp.MustCompile(`--[^\n]*`)
	sqlSpaces  = regexp.MustCompile(`\s+`)
	sqlPunct   = regexp.MustCompile(` ?([(),;=]) ?`)
)

func normalizeSQL(s string) string {
	s = sqlComment.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, `"`, "")
	s = sqlSpaces.ReplaceAllString(s, " ")
	return strings.TrimSpace(sqlPunct.ReplaceAllString(s, "$1"))
}

func sameSchema(t *testing.T, want, got []string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing or different: %s", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("not in the baseline: %s", g)
		}
	}
}
