package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/lease"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/store"
)

func checkConfig(args []string, stdout, stderr io.Writer) error {
	var c common
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	c.register(fs, false)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	pol, err := policy.Load(c.configFile)
	if err != nil {
		return err
	}
	if err := checkReferences(pol); err != nil {
		return fmt.Errorf("%s: %w", c.configFile, err)
	}
	fmt.Fprintf(stdout, "SUCCESS: %s is valid (%d services)\n", c.configFile, len(pol.Services))
	return nil
}

// checkReferences makes the checks the policy loader cannot: every PromQL
// query parses with Prometheus' own parser (what the loop would otherwise
// find out on its first evaluation), and every credential file exists, is
// readable and is not empty (what serve would otherwise find out at
// start-up). Every problem is returned, each naming its field.
func checkReferences(pol *policy.File) error {
	var errs []error
	p := parser.NewParser(parser.Options{})
	for _, q := range pol.Queries() {
		if _, err := p.ParseExpr(q.Value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", q.Field, err))
		}
	}
	for _, f := range pol.SecretFiles() {
		if err := checkCredentialFile(f.Value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.Field, err))
		}
	}
	return errors.Join(errs...)
}

// maxCredentialFile bounds what check-config reads of a credential file:
// enough to see that it holds something.
const maxCredentialFile = 1 << 20

func checkCredentialFile(path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err // names the path and says why: missing, permission denied
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err != nil {
		return err
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(fh, maxCredentialFile))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return fmt.Errorf("%s is empty", path)
	}
	return nil
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	c.register(fs, true)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	dsn, err := c.dsn()
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied migrations: %v\n", applied)
	return nil
}

func eval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var promURL, action string
	var useDB bool
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	c.register(fs, true)
	fs.StringVar(&promURL, "prometheus.url", "http://localhost:9090", "Prometheus to read metrics from.")
	fs.StringVar(&action, "action", "both", "Alert action to evaluate: scale_up, scale_down or both.")
	fs.BoolVar(&useDB, "database", false, "Read cooldowns from the database (needs --database.url-file or $WEDSYNC_DATABASE_URL).")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	logger, err := c.logger(stderr)
	if err != nil {
		return err
	}
	var allow *decision.Directions
	switch action {
	case "both":
	case "scale_up":
		allow = &decision.Directions{Up: true}
	case "scale_down":
		allow = &decision.Directions{Down: true}
	default:
		return usageError{fmt.Errorf("--action: %q is not scale_up, scale_down or both", action)}
	}
	pol, err := policy.Load(c.configFile)
	if err != nil {
		return err
	}
	var st scaler.Store
	if useDB {
		dsn, err := c.dsn()
		if err != nil {
			return err
		}
		s, err := store.Open(ctx, dsn)
		if err != nil {
			return err
		}
		defer s.Close()
		st = s
	}
	acts, err := buildActuators(pol, logger)
	if err != nil {
		return err
	}
	sc, err := buildScaler(pol, st, acts, nil, promURL, 5*time.Second, nil, 0, "", true, logger, nil, nil)
	if err != nil {
		return err
	}
	services := fs.Args()
	if len(services) == 0 {
		for name := range pol.Services {
			services = append(services, name)
		}
	}
	sortStrings(services)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tCONTROL\tCURRENT\tREACTIVE\tPREDICTED\tBOUNDS\tTARGET\tOUTCOME\tWHY")
	var failed []string
	var details []string
	for _, name := range services {
		a := allow
		p := pol.Services[name]
		if a == nil && p != nil && p.Control == policy.AlertsOnly {
			// What the loop would do if an alert of either direction fired.
			a = &decision.Directions{Up: true, Down: true}
		}
		r := sc.Plan(ctx, name, a)
		if r.Err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\terror\t%v\n", name, r.Err)
			failed = append(failed, name)
			continue
		}
		o := r.Output
		pred := "-"
		if o.Predicted != nil {
			pred = fmt.Sprint(*o.Predicted)
		}
		bounds := fmt.Sprintf("[%d, %d]", o.Min, o.Max)
		if len(o.Scheduled) > 0 {
			bounds += " " + strings.Join(o.Scheduled, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\t%s\n", name, p.Control, r.Current, o.Reactive, pred, bounds, o.Target, o.Outcome, o.Reason)
		if d := planDetails(name, p, r); d != "" {
			details = append(details, d)
		}
	}
	tw.Flush()
	for _, d := range details {
		fmt.Fprint(stdout, d)
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not evaluate %s", strings.Join(failed, ", "))
	}
	return nil
}

// planDetails explains a service's forecasts and schedules under the table:
// the lead, each forecaster's value or why it has none, the next window.
func planDetails(name string, p *policy.Service, r scaler.Result) string {
	var b strings.Builder
	if pr := p.Predictive; pr != nil {
		mode := "predictive"
		if pr.ForecastOnly {
			mode = "predictive (forecast only: recorded, never acted on)"
		}
		fmt.Fprintf(&b, "%s: %s, driver %s, lead %s\n", name, mode, pr.Driver, r.Notes.Lead.Round(time.Second))
		for _, f := range r.Notes.Forecasts {
			fmt.Fprintf(&b, "  %s: %.4g expected within the lead → %d replicas\n", f.Forecaster, f.Value, f.Desired)
		}
		if s := r.Notes.Seasonal; s != nil {
			fmt.Fprintf(&b, "  seasonal model: %s on %s of history (confidence %.2f)\n", s.Method, s.History.Round(time.Hour), s.Confidence)
		}
		for _, w := range r.Notes.Why {
			fmt.Fprintf(&b, "  %s\n", w)
		}
		if r.Output.WouldTarget > 0 {
			fmt.Fprintf(&b, "  the forecast would set %d\n", r.Output.WouldTarget)
		}
	}
	if set := p.ScheduleSet(); set.Len() > 0 {
		now := time.Now()
		act := set.At(now)
		switch {
		case act.Any():
			fmt.Fprintf(&b, "%s: scheduled %s active (min %d)\n", name, strings.Join(act.Names, ", "), act.Min)
		default:
			fmt.Fprintf(&b, "%s: no scheduled window active\n", name)
		}
		if next, ok := set.NextChange(now); ok {
			fmt.Fprintf(&b, "  next change %s\n", next.Format(time.RFC3339))
		}
	}
	return b.String()
}

func rollback(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return eventAction(ctx, "rollback", (*scaler.Scaler).Rollback, args, stdout, stderr)
}

func retry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return eventAction(ctx, "retry", (*scaler.Scaler).Retry, args, stdout, stderr)
}

// eventAction is rollback and retry: one event id after the flags, who
// asks, a dry run that prints the plan; the same flags, exit statuses and
// output line, so that the two cannot drift apart.
func eventAction(ctx context.Context, name string, act func(*scaler.Scaler, context.Context, string, string, bool) (store.Event, error),
	args []string, stdout, stderr io.Writer) error {
	var c common
	var user string
	var dryRun bool
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c.register(fs, true)
	fs.StringVar(&user, "user", "", "Who asks for the "+name+" (recorded as initiated_user_id; required).")
	fs.BoolVar(&dryRun, "dry-run", false, "Print the "+name+" that would be done, do nothing.")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New(name + " takes exactly one event id")}
	}
	if user == "" {
		return usageError{errors.New("--user is required: every action records who asked for it")}
	}
	logger, err := c.logger(stderr)
	if err != nil {
		return err
	}
	pol, st, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// Neither reads metrics (actingScaler): a rollback re-applies a
	// recorded before state, a retry a recorded after state.
	sc, stop, err := actingScaler(ctx, pol, st, logger)
	if err != nil {
		return err
	}
	defer stop()
	ev, err := act(sc, ctx, fs.Arg(0), user, dryRun)
	if err != nil {
		return fmt.Errorf("%s %s: %w", name, fs.Arg(0), err)
	}
	if dryRun {
		fmt.Fprintf(stdout, "would %s %s: %s → %s (%s)\n", ev.Type, ev.Service, ev.Before, ev.After, ev.TriggerReason)
		return nil
	}
	fmt.Fprintf(stdout, "%s event %s: %s %s %s → %s: %s\n", name, ev.ID, ev.Type, ev.Service, ev.Before, ev.After, ev.Status)
	if ev.Status != store.StatusCompleted {
		return fmt.Errorf("%s %s: %s", name, ev.Status, ev.ErrorMessage)
	}
	return nil
}

func sortStrings(s []string) { sort.Strings(s) }

// actingScaler is the scaler of a one-shot command that acts (rollback,
// retry): it holds a lease of its own while it runs, like a replica, so
// the running replicas do not take its action over as an orphan; stop
// releases it.
func actingScaler(ctx context.Context, pol *policy.File, st *store.Store, logger *slog.Logger) (*scaler.Scaler, func(), error) {
	acts, err := buildActuators(pol, logger)
	if err != nil {
		return nil, nil, err
	}
	keeper, err := lease.New(st, lease.Name(), lease.Config{TTL: 30 * time.Second, ActuatorTimeout: longestCall(acts)}, logger)
	if err != nil {
		return nil, nil, err
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if err := keeper.Start(lctx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("take a lease: %w", err)
	}
	// A rollback or retry reads no metrics: it re-applies a recorded state.
	sc, err := buildScaler(pol, st, acts, keeper, "http://localhost:9090", 5*time.Second, nil, 0, "", false, logger, nil, nil)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	stop := func() {
		cancel()
		// Released here, not only by the keeper's goroutine: the process
		// exits right after.
		rctx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer done()
		if err := st.ReleaseLease(rctx, keeper.Holder()); err != nil {
			logger.Warn("release the lease", "err", err)
		}
	}
	return sc, stop, nil
}
