// Command wedsync-exporter reads what WedSync spends (OpenAI, Vercel,
// Twilio, Supabase, FOCUS files, manual entries) into cost_tracking, and
// serves cost, budget, projection, capacity, user-count and growth-phase
// metrics for Prometheus.
//
//	wedsync-exporter --config.file=exporter.yml --web.listen-address=:9682 \
//	  --database.url-file=/etc/wedsync/database-url   # or $WEDSYNC_DATABASE_URL
//	wedsync-exporter --config.file=exporter.yml --config.check
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wedsync-exporter:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ error }

type flags struct {
	listen      string
	configFile  string
	databaseURL string
	logLevel    string
	logFormat   string
	check       bool
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	var f flags
	fs := flag.NewFlagSet("wedsync-exporter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.listen, "web.listen-address", ":9682", "Address to listen on for /metrics, /healthz and /readyz.")
	fs.StringVar(&f.configFile, "config.file", "exporter.yml", "Configuration file (YAML).")
	fs.StringVar(&f.databaseURL, "database.url-file", "", "File holding the PostgreSQL URL of the control plane (default: $WEDSYNC_DATABASE_URL).")
	fs.StringVar(&f.logLevel, "log.level", "info", "Log level: debug, info, warn, error.")
	fs.StringVar(&f.logFormat, "log.format", "json", "Log format: json or logfmt.")
	fs.BoolVar(&f.check, "config.check", false, "Validate the configuration file and exit.")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	return &f, nil
}

func (f *flags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, usageError{fmt.Errorf("--log.level: %q is not debug, info, warn or error", f.logLevel)}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch f.logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "logfmt":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log.format: %q is not json or logfmt", f.logFormat)}
}

// dsn reads the database URL from the file flag or the environment; it is
// never a plain flag, since command lines are visible to every user.
func (f *flags) dsn() (string, error) {
	if f.databaseURL != "" {
		b, err := os.ReadFile(f.databaseURL)
		if err != nil {
			return "", fmt.Errorf("--database.url-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if v := os.Getenv("WEDSYNC_DATABASE_URL"); v != "" {
		return v, nil
	}
	return "", usageError{errors.New("no database: set --database.url-file or $WEDSYNC_DATABASE_URL")}
}
