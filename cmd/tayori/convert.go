package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/tayori-dev/tayori/config"
)

func runConvert(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: tayori convert TENSHI_CONF")
		return exitError{2}
	}
	return config.ConvertTenshi(fs.Arg(0), stdout)
}
