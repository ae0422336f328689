// Package cli holds what every binary's command line shares: the
// Prometheus-style --log.level/--log.format flags and the database URL,
// which comes from a file or the environment but never from a flag (command
// lines are visible to every user of the host).
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// FlagError is a mistake on the command line: binaries exit with status 2
// on it rather than 1.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// Logging is --log.level and --log.format.
type Logging struct{ Level, Format string }

// Register adds the flags with the given defaults: servers log info as
// JSON, an interactive tool warnings as logfmt.
func (l *Logging) Register(fs *flag.FlagSet, defaultLevel, defaultFormat string) {
	fs.StringVar(&l.Level, "log.level", defaultLevel, "Log level: debug, info, warn or error.")
	fs.StringVar(&l.Format, "log.format", defaultFormat, "Log format: json or logfmt.")
}

// Validate reports a bad level or format, naming the flag.
func (l Logging) Validate() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.Level)); err != nil {
		return &FlagError{fmt.Errorf("--log.level: %q is not debug, info, warn or error", l.Level)}
	}
	if l.Format != "json" && l.Format != "logfmt" {
		return &FlagError{fmt.Errorf("--log.format: %q is not json or logfmt", l.Format)}
	}
	return nil
}

// Logger builds the logger the flags describe.
func (l Logging) Logger(w io.Writer) (*slog.Logger, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	var lvl slog.Level
	lvl.UnmarshalText([]byte(l.Level)) //nolint:errcheck // validated
	opts := &slog.HandlerOptions{Level: lvl}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// DatabaseEnv is the environment variable holding the PostgreSQL URL.
const DatabaseEnv = "WEDSYNC_DATABASE_URL"

// Database is --database.url-file.
type Database struct{ URLFile string }

// Register adds the flag.
func (d *Database) Register(fs *flag.FlagSet) {
	fs.StringVar(&d.URLFile, "database.url-file", "", "File holding the PostgreSQL URL (default: $"+DatabaseEnv+").")
}

// ErrNoDatabase means neither the file nor the variable is set.
var ErrNoDatabase = &FlagError{errors.New("no database: set --database.url-file or $" + DatabaseEnv)}

// Configured reports whether a database is given at all.
func (d Database) Configured() bool { return d.URLFile != "" || os.Getenv(DatabaseEnv) != "" }

// URL reads the database URL from the file, else the environment.
func (d Database) URL() (string, error) {
	if d.URLFile != "" {
		b, err := os.ReadFile(d.URLFile)
		if err != nil {
			return "", fmt.Errorf("--database.url-file: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("--database.url-file: %s is empty", d.URLFile)
		}
		return v, nil
	}
	if v := os.Getenv(DatabaseEnv); v != "" {
		return v, nil
	}
	return "", ErrNoDatabase
}
