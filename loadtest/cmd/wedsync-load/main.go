// Command wedsync-load runs load tests and keeps their results.
//
//	wedsync-load run baseline --target=http://api:8080      a built-in scenario
//	wedsync-load run checkout.yaml --report=report.html      a scenario file (k6 options, JSON or YAML)
//	wedsync-load import summary.json --name=checkout         record a k6 summary (either shape)
//	wedsync-load baseline LOAD_TEST_ID                       make a run the baseline of its benchmark
//	wedsync-load compare LOAD_TEST_ID [OTHER_ID]             compare with the baseline (or another run)
//	wedsync-load list                                        recent load tests
//	wedsync-load scenarios                                   the built-in scenarios
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
	"github.com/wedsync/scaling/core/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wedsync-load:", err)
		os.Exit(exitCode(err))
	}
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ error }

// exitError carries a specific exit status: 99 when thresholds were
// crossed (k6's), 97 on a regression with --fail-on-regression, 130 when
// cancelled.
type exitError struct {
	code int
	error
}

func exitCode(err error) int {
	var ue usageError
	var fe *cli.FlagError
	var ee exitError
	switch {
	case errors.As(err, &ue), errors.As(err, &fe):
		return 2
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

const usage = `usage: wedsync-load <command> [flags]

commands:
  run NAME|FILE      run a built-in scenario (baseline, stress, spike, volume, endurance) or a scenario file
  import FILE        record a k6 summary (handleSummary data or --summary-export) as a load test
  baseline ID        make a load test's benchmark the baseline of its name
  compare ID [ID2]   compare a load test with its baseline, or with another load test
  list               list recent load tests
  scenarios          describe the built-in scenarios

run 'wedsync-load <command> -h' for the flags of a command`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("no command\n" + usage)}
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "run":
		err = runCmd(ctx, rest, stdout, stderr)
	case "import":
		err = importCmd(ctx, rest, stdout, stderr)
	case "baseline":
		err = baselineCmd(ctx, rest, stdout, stderr)
	case "compare":
		err = compareCmd(ctx, rest, stdout, stderr)
	case "list":
		err = listCmd(ctx, rest, stdout, stderr)
	case "scenarios":
		err = scenariosCmd(rest, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return usageError{fmt.Errorf("unknown command %q\n%s", cmd, usage)}
	}
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// common are the flags every command shares.
type common struct {
	db  cli.Database
	log cli.Logging
}

func (c *common) register(fs *flag.FlagSet) {
	c.db.Register(fs)
	c.log.Register(fs, "warn", "logfmt")
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) { return c.log.Logger(w) }

// dsn reads the database URL from the file flag or the environment.
func (c *common) dsn() (string, error) { return c.db.URL() }

// open connects and migrates (idempotent; serialized by an advisory lock).
func (c *common) open(ctx context.Context) (*store.Store, error) {
	dsn, err := c.dsn()
	if err != nil {
		return nil, err
	}
	s, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return s, nil
}

// errHelp ends a command after -h printed its flags.
var errHelp = errors.New("help shown")

func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	// Flags may follow the positional arguments (run baseline --target=…).
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return errHelp
			}
			return usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}
