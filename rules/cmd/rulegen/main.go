// Command rulegen renders thresholds.yml into dist/<profile>/ for every
// profile: recording.rules.yml, alerting.rules.yml and alertmanager.yml,
// with the default deployment parameters (rules.DefaultParams).
//
//	go run ./cmd/rulegen -out dist
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/wedsync/scaling/rules"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return // usage was printed, as asked
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rulegen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("rulegen", flag.ContinueOnError)
	fs.SetOutput(stdout)
	out := fs.String("out", "dist", "directory to write <profile>/{"+rules.RecordingRulesFile+","+rules.AlertingRulesFile+","+rules.AlertmanagerFile+"} into")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, profile := range rules.Profiles() {
		if err := ctx.Err(); err != nil {
			return err
		}
		files, err := rules.Render(profile, rules.DefaultParams())
		if err != nil {
			return err
		}
		dir := filepath.Join(*out, profile)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		for _, name := range rules.Files {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, files[name], 0o644); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			fmt.Fprintln(stdout, "wrote", path)
		}
	}
	return nil
}
