package main

import (
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// sdNotify sends a state change to systemd (Type=notify); it does nothing outside systemd.
func sdNotify(states ...string) error {
	socket := os.Getenv("NOTIFY_SOCKET")
	if socket == "" {
		return nil
	}
	if strings.HasPrefix(socket, "@") {
		socket = "\x00" + socket[1:] // abstract namespace
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	_, err = conn.Write([]byte(strings.Join(states, "\n")))
	return err
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, which systemd wants with RELOADING=1.
func monotonicUsec() string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return "0"
	}
	return fmt.Sprint(ts.Nano() / 1000)
}
