package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func runDaemon(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("c", "/etc/tayori/tayori.toml", "configuration file")
	stateDir := fs.String("state-dir", "", "state directory (overrides settings.state_dir)")
	debug := fs.Bool("debug", false, "log debug messages")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitError{2}
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := loadConfig(*conf, stderr)
	if err != nil {
		return err
	}
	if *stateDir != "" {
		cfg.Settings.StateDir = *stateDir
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	d, err := newDaemon(*conf, cfg, logger, stdout)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return exitError{1}
	}
	if err := d.run(context.Background(), sigs); err != nil {
		logger.Error("stopped", "err", err)
		return exitError{1}
	}
	return nil
}
