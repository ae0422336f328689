// Command wedsync-autoscaler receives Alertmanager's scaling alerts, decides
// from current state, acts through actuators and logs every action in
// PostgreSQL with rollback.
//
//	wedsync-autoscaler serve        --config.file=policy.yml ...
//	wedsync-autoscaler eval         what would be done now, and why (dry run)
//	wedsync-autoscaler replay       the decision code over a load trace, per strategy
//	wedsync-autoscaler rollback ID  re-apply an event's before state
//	wedsync-autoscaler retry ID     re-apply a failed event's after state
//	wedsync-autoscaler check-config validate a policy file
//	wedsync-autoscaler migrate      apply database migrations
//	wedsync-autoscaler token        create, list or revoke admin API tokens
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

	"github.com/wedsync/scaling/core/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wedsync-autoscaler:", err)
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

const usage = `usage: wedsync-autoscaler <command> [flags]

commands:
  serve         run the webhook receiver and the scaling loop
  eval          print what would be done now for each service, and why
  replay        run the decision code over a load trace and compare strategies
  rollback ID   re-apply the before state of a completed or failed scaling event
  retry ID      re-apply the after state of a failed scaling event
  check-config  validate a policy file
  migrate       apply database migrations
  token         create, list or revoke admin API tokens

run 'wedsync-autoscaler <command> -h' for the flags of a command`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("no command\n" + usage)}
	}
	cmd, rest := args[0], args[1:]
	err := dispatch(ctx, cmd, rest, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func dispatch(ctx context.Context, cmd string, rest []string, stdout, stderr io.Writer) error {
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "eval":
		return eval(ctx, rest, stdout, stderr)
	case "replay":
		return replayCmd(ctx, rest, stdout, stderr)
	case "rollback":
		return rollback(ctx, rest, stdout, stderr)
	case "retry":
		return retry(ctx, rest, stdout, stderr)
	case "check-config":
		return checkConfig(rest, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, stdout, stderr)
	case "token":
		return token(ctx, rest, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usageError{fmt.Errorf("unknown command %q\n%s", cmd, usage)}
}

// common are the flags every command shares.
type common struct {
	configFile string
	log        cli.Logging
	db         cli.Database
}

func (c *common) register(fs *flag.FlagSet, needDB bool) {
	fs.StringVar(&c.configFile, "config.file", "policy.yml", "Policy file (YAML).")
	if needDB {
		c.db.Register(fs)
	}
	c.log.Register(fs, "info", "json")
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) { return c.log.Logger(w) }

// dsn reads the database URL from the file flag or the environment.
func (c *common) dsn() (string, error) { return c.db.URL() }

// errHelp ends a command after -h printed its flags.
var errHelp = errors.New("help shown")

func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err}
	}
	return nil
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
