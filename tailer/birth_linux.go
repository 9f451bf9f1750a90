//go:build linux

package tailer

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// birthTime returns when f was created, if its file system records it.
func birthTime(f *os.File) (time.Time, bool) {
	// Ask about the open file, not its name: the name may be a symlink or
	// already belong to another file.
	rc, err := f.SyscallConn()
	if err != nil {
		return time.Time{}, false
	}
	var stx unix.Statx_t
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.Statx(int(fd), "", unix.AT_EMPTY_PATH, unix.STATX_BTIME, &stx)
	}); err != nil || serr != nil || stx.Mask&unix.STATX_BTIME == 0 {
		return time.Time{}, false
	}
	return time.Unix(stx.Btime.Sec, int64(stx.Btime.Nsec)), true
}
