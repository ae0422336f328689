// Command wedsync-demo-api serves the simulated WedSync API fleet (package fleet): a
// workload whose capacity follows its replica count, an admin API to change that count,
// and Prometheus metrics.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wedsync/scaling/demo/fleet"

	"github.com/wedsync/scaling/core/cli"
)

// shutdownTimeout bounds how long queued requests may still drain after SIGTERM.
const shutdownTimeout = 15 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "wedsync-demo-api: %v\n", err)
		stop()
		os.Exit(1)
	}
}

type options struct {
	listenAddress string
	tokenFile     string
	log           cli.Logging
	fleet         fleet.Config
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	def := fleet.DefaultConfig()
	var o options
	fs := flag.NewFlagSet("wedsync-demo-api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listenAddress, "web.listen-address", ":9683", "address to listen on for the API, admin API and /metrics (port 0 picks a free port)")
	fs.IntVar(&o.fleet.Replicas, "replicas", def.Replicas, "initial replicas, ready at start")
	fs.IntVar(&o.fleet.MaxReplicas, "max-replicas", def.MaxReplicas, "most replicas the admin API accepts")
	fs.IntVar(&o.fleet.SlotsPerReplica, "slots-per-replica", def.SlotsPerReplica, "concurrent requests one replica serves")
	fs.DurationVar(&o.fleet.ServiceTime, "service-time", def.ServiceTime, "time one request holds its slot")
	fs.DurationVar(&o.fleet.ServiceJitter, "service-time-jitter", def.ServiceJitter, "service time varies uniformly by up to ± this much")
	fs.DurationVar(&o.fleet.ProvisionDelay, "provision-delay", def.ProvisionDelay, "time until replicas added by a scale-up are ready")
	fs.IntVar(&o.fleet.MaxQueue, "max-queue", def.MaxQueue, "requests that may wait for a slot before the answer is 503")
	fs.StringVar(&o.tokenFile, "admin.token-file", "", "file holding the bearer token required by /admin/ (none: no check)")
	o.log.Register(fs, "info", "json")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.fleet.MemoryBaseBytes = def.MemoryBaseBytes
	o.fleet.MemoryPerRequestBytes = def.MemoryPerRequestBytes
	o.fleet.MemoryLimitBytes = def.MemoryLimitBytes
	return o, o.validate()
}

// validate checks the flags here rather than leaving it to fleet.Config.Validate so that
// every message names the flag the operator typed.
func (o options) validate() error {
	var errs []error
	bad := func(flagName, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flagName, fmt.Sprintf(format, args...)))
	}
	c := o.fleet
	if _, _, err := net.SplitHostPort(o.listenAddress); err != nil {
		bad("web.listen-address", "%v", err)
	}
	if c.MaxReplicas < 1 {
		bad("max-replicas", "must be >= 1, got %d", c.MaxReplicas)
	}
	if c.Replicas < 1 || (c.MaxReplicas >= 1 && c.Replicas > c.MaxReplicas) {
		bad("replicas", "must be between 1 and --max-replicas (%d), got %d", c.MaxReplicas, c.Replicas)
	}
	if c.SlotsPerReplica < 1 {
		bad("slots-per-replica", "must be >= 1, got %d", c.SlotsPerReplica)
	}
	if c.ServiceTime <= 0 {
		bad("service-time", "must be > 0, got %s", c.ServiceTime)
	}
	if c.ServiceJitter < 0 || (c.ServiceTime > 0 && c.ServiceJitter >= c.ServiceTime) {
		bad("service-time-jitter", "must be >= 0 and < --service-time (%s), got %s", c.ServiceTime, c.ServiceJitter)
	}
	if c.ProvisionDelay < 0 {
		bad("provision-delay", "must be >= 0, got %s", c.ProvisionDelay)
	}
	if c.MaxQueue < 0 {
		bad("max-queue", "must be >= 0, got %d", c.MaxQueue)
	}
	if err := o.log.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func readToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--admin.token-file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("--admin.token-file: %s is empty", path)
	}
	return tok, nil
}

// run serves until ctx is cancelled, then drains in-flight requests.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger, err := o.log.Logger(stderr)
	if err != nil {
		return err
	}
	if o.fleet.AdminToken, err = readToken(o.tokenFile); err != nil {
		return err
	}
	f, err := fleet.New(o.fleet, logger)
	if err != nil {
		return err
	}
	defer f.Close()

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.listenAddress)
	if err != nil {
		return fmt.Errorf("--web.listen-address: %w", err)
	}
	srv := &http.Server{
		Handler:           f.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	c := o.fleet
	logger.Info("listening", "address", ln.Addr().String(),
		"replicas", c.Replicas, "max_replicas", c.MaxReplicas, "slots_per_replica", c.SlotsPerReplica,
		"service_time", c.ServiceTime.String(), "provision_delay", c.ProvisionDelay.String(), "max_queue", c.MaxQueue,
		"capacity_rps_per_replica", float64(c.SlotsPerReplica)/c.ServiceTime.Seconds(),
		"admin_auth", c.AdminToken != "")

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}
