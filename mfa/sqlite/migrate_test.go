package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// A migration numbered below one already applied (it landed later, from another branch) is still
// applied, once; a data folder from before schema_migrations is taken to have had the migrations
// of its time up to its user_version.
func TestMigrationLandedLaterIsApplied(t *testing.T) {
	ctx := context.Background()
	all, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var late migration      // the first migration not in trackedSince
	var without []migration // what a binary from before schema_migrations could have applied
	for _, m := range all {
		tracked := false
		for _, v := range trackedSince {
			tracked = tracked || v == m.version
		}
		if !tracked {
			if late.name == "" {
				late = m
			}
			continue
		}
		without = append(without, m)
	}
	if late.name == "" {
		t.Skip("every migration predates schema_migrations")
	}
	path := filepath.Join(t.TempDir(), "mfaportal.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	old := &DB{db: raw, Path: path}
	if err := old.migrateWith(ctx, without); err != nil {
		t.Fatal(err)
	}
	// As a binary from before schema_migrations would have left it.
	if _, err := raw.Exec("DROP TABLE schema_migrations"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("opening a folder without %s: %v", late.name, err)
	}
	defer db.Close()
	var n int
	if err := db.db.QueryRow("SELECT COUNT(*) FROM schema_migrations WHERE version = ?", late.version).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%s recorded %d times (%v)", late.name, n, err)
	}
	if err := db.db.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != len(all) {
		t.Fatalf("%d migrations recorded, want %d (%v)", n, len(all), err)
	}
	db.Close()
	if db, err = Open(ctx, path); err != nil { // nothing left to apply
		t.Fatal(err)
	}
}
