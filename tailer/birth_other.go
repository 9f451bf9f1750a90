//go:build !linux

package tailer

import (
	"os"
	"time"
)

// birthTime returns when f was created, if its file system records it.
func birthTime(*os.File) (time.Time, bool) { return time.Time{}, false }
