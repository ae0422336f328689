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
	"syscall"

	"github.com/wedsync/scaling/core/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wedsync-exporter:", err)
		if isUsage(err) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ error }

// isUsage reports a command-line mistake: ours or a shared flag's.
func isUsage(err error) bool {
	var ue usageError
	var fe *cli.FlagError
	return errors.As(err, &ue) || errors.As(err, &fe)
}

type flags struct {
	listen     string
	configFile string
	db         cli.Database
	log        cli.Logging
	check      bool
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	var f flags
	fs := flag.NewFlagSet("wedsync-exporter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.listen, "web.listen-address", ":9682", "Address to listen on for /metrics, /healthz and /readyz.")
	fs.StringVar(&f.configFile, "config.file", "exporter.yml", "Configuration file (YAML).")
	f.db.Register(fs)
	f.log.Register(fs, "info", "json")
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

func (f *flags) logger(w io.Writer) (*slog.Logger, error) { return f.log.Logger(w) }

// dsn reads the database URL from the file flag or the environment.
func (f *flags) dsn() (string, error) { return f.db.URL() }
