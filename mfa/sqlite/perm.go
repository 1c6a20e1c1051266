package sqlite

import (
	"errors"
	"os"
)

// privateFiles makes the database file, and its -wal and -shm files if they exist, readable by
// the portal's user only (0600) whatever the folder's mode or the umask: they hold password
// hashes, sessions and the directory. SQLite creates -wal and -shm with the database file's mode.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
