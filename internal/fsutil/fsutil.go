// Package fsutil holds the file operations the server's files share:
// replacing a file atomically (nodes.conf, redis.conf on CONFIG REWRITE)
// and making a rename durable (those and dump.rdb).
package fsutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// WriteFileAtomic replaces path with data: the bytes go to a temporary
// file in the same folder, which is renamed over path, so a crash at any
// point leaves either the old or the new file whole. With fsync the file
// is flushed before the rename and the folder after it, so the new content
// survives a power loss too. The file gets mode 0644.
func WriteFileAtomic(path string, data []byte, fsync bool) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating a temporary file for %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(what string, err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("%s %s: %w", what, tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail("writing", err)
	}
	if fsync {
		if err := f.Sync(); err != nil {
			return fail("syncing", err)
		}
	}
	if err := f.Chmod(0o644); err != nil {
		return fail("chmod of", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("closing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("renaming %s to %s: %w", tmp, path, err)
	}
	if fsync {
		return SyncDir(dir)
	}
	return nil
}

// SyncFile flushes path, and the folder entry naming it, to disk.
func SyncFile(path string) error {
	if err := syncPath(path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir makes the renames into dir durable. File systems that cannot
// sync a folder (EINVAL) are not an error.
func SyncDir(dir string) error {
	err := syncPath(dir)
	if errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}

func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening %s to sync it: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	return nil
}

// Strerror words an error like C's strerror when it carries an errno
// ("No space left on device"), as Redis's messages about files do; other
// errors keep their own text.
func Strerror(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		if msg := en.Error(); msg != "" {
			return strings.ToUpper(msg[:1]) + msg[1:]
		}
	}
	return err.Error()
}
