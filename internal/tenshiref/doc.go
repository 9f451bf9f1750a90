// Package tenshiref runs the reference implementation, tenshi, on a
// configuration and an input and returns the digests it mails, so that tests
// can compare tayori with it; it also turns logcheck's rule files into rules on
// the message part of a syslog line.
package tenshiref
