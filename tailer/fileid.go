package tailer

import (
	"io/fs"
	"syscall"
)

// fileID returns the device and inode numbers of the file fi describes.
func fileID(fi fs.FileInfo) (dev, ino uint64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	return uint64(st.Dev), uint64(st.Ino) // the field types differ between platforms
}

// fnv1a is the 64-bit FNV-1a hash of p.
func fnv1a(p []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, b := range p {
		h ^= uint64(b)
		h *= 1099511628211
	}
	return h
}
