package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/tayori-dev/tayori/config"
)

// loadConfig loads a configuration and prints every error it has, one per line.
func loadConfig(path string, stderr io.Writer) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(stderr, e)
			}
			fmt.Fprintf(stderr, "%s: %d error(s)\n", path, len(errs))
			return nil, exitError{1}
		}
		return nil, err
	}
	return cfg, nil
}

func runCheck(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("c", "/etc/tayori/tayori.toml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return exitError{2}
	}
	cfg, err := loadConfig(*conf, stderr)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s: OK: %d queues, %d rules\n", *conf, len(cfg.Queues), len(cfg.Rules))
	return err
}
