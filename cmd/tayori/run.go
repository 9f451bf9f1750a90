package main

import (
	"errors"
	"io"
)

func runDaemon(_ []string, _ io.Reader, _, _ io.Writer) error {
	return errors.New("not implemented yet")
}
