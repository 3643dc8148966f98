package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWriteFileAtomic: with or without fsync the file holds exactly the
// new bytes (no tail of a longer old file), has mode 0644, and no
// temporary file is left in the folder.
func TestWriteFileAtomic(t *testing.T) {
	for _, fsync := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "f.conf")
		require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("old line\n", 100)), 0o600))
		require.NoError(t, WriteFileAtomic(path, []byte("new\n"), fsync))
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, "new\n", string(got), "fsync=%v", fsync)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 1, "fsync=%v: only the file in the folder", fsync)
		require.NoError(t, SyncFile(path))
	}
	require.Error(t, WriteFileAtomic(filepath.Join(t.TempDir(), "missing", "f"), []byte("x"), true))
}

func TestStrerror(t *testing.T) {
	require.Equal(t, "No such file or directory", Strerror(&os.PathError{Op: "open", Path: "x", Err: syscall.ENOENT}))
	require.Equal(t, "Not a directory", Strerror(syscall.ENOTDIR))
	require.Equal(t, "Permission denied", Strerror(syscall.EACCES))
	require.Equal(t, "Is a directory", Strerror(syscall.EISDIR))
	require.Equal(t, "plain", Strerror(errors.New("plain")))
}
