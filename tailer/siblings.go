package tailer

import (
	"os"
	"path/filepath"
	"strings"
)

// siblingKind says which names in a file's directory may be its rotated
// versions.
type siblingKind int

const (
	// looseSiblings: names starting with the base name without its
	// extension ("host" for host.log: host.log.1, host-20260101.log,
	// host.1.log). Wide, for searches that check identity (inode or
	// fingerprint) anyway.
	looseSiblings siblingKind = iota
	// strictSiblings: names that are the base name followed by '.', '-' or
	// '_' (host.log.1, host.log-20260101), what logrotate makes by default.
	strictSiblings
)

// siblingNames lists the names in path's directory that may be rotated
// versions of path, compressed ones excluded.
func siblingNames(path string, kind siblingKind) ([]string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	if stem == "" {
		stem = base
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if name == base || e.IsDir() {
			continue
		}
		switch kind {
		case looseSiblings:
			if !strings.HasPrefix(name, stem) {
				continue
			}
		case strictSiblings:
			rest, ok := strings.CutPrefix(name, base)
			if !ok || rest == "" || !strings.ContainsRune(".-_", rune(rest[0])) {
				continue
			}
		}
		if isCompressed(name) {
			continue
		}
		names = append(names, filepath.Join(dir, name))
	}
	return names, nil
}

// isCompressed reports whether name looks like a compressed file, which
// cannot be resumed by offset.
func isCompressed(name string) bool {
	switch filepath.Ext(name) {
	case ".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".lzo", ".Z", ".zip", ".br":
		return true
	}
	return false
}

// findSibling opens the possible rotated versions of fl's path that fl does
// not have open already and returns the one match accepts that was modified
// last (or first, with oldest), or nil. The others are closed again.
func (t *Tailer) findSibling(fl *follower, kind siblingKind, match func(*file) bool, oldest bool) *file {
	names, err := siblingNames(fl.path, kind)
	if err != nil {
		t.log.Warn("cannot look for rotated files", "path", fl.path, "err", err)
		return nil
	}
	var best *file
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if dev, ino := fileID(fi); fl.has(dev, ino) {
			continue
		}
		c, err := openFile(name, t.maxLine)
		if err != nil {
			continue
		}
		if !match(c) || best != nil && (c.mtime.After(best.mtime) == oldest || c.mtime.Equal(best.mtime)) {
			c.close()
			continue
		}
		if best != nil {
			best.close()
		}
		best = c
	}
	return best
}
