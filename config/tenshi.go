package config

import (
	"errors"
	"io"
)

// ConvertTenshi prints the tayori configuration equivalent to a tenshi configuration.
func ConvertTenshi(path string, w io.Writer) error {
	return errors.New("not implemented yet")
}
