package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The data files are 0600 whatever the umask, and an existing file with a looser mode is tightened.
func TestDataFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o002)
	defer syscall.Umask(old)
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	path := filepath.Join(dir, "mfaportal.db")
	check := func() {
		t.Helper()
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		db.SetMeta(context.Background(), "x", "y") // writes the WAL
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v %v", filepath.Base(p), info.Mode(), err)
			}
		}
		db.Close()
	}
	check()
	os.Chmod(path, 0o644)
	check()
}
