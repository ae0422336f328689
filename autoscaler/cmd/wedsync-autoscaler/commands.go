package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

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
	fmt.Fprintf(stdout, "SUCCESS: %s is valid (%d services)\n", c.configFile, len(pol.Services))
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
	var actions []store.EventType
	switch action {
	case "both":
		actions = []store.EventType{store.EventScaleUp, store.EventScaleDown}
	case "scale_up", "scale_down":
		actions = []store.EventType{store.EventType(action)}
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
	sc, err := buildScaler(pol, st, promURL, 5*time.Second, nil, "", true, logger, nil)
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
	fmt.Fprintln(tw, "SERVICE\tIF ALERT\tCURRENT\tRAW\tTARGET\tOUTCOME\tWHY")
	var failed []string
	for _, name := range services {
		for _, a := range actions {
			r := sc.Plan(ctx, name, a)
			if r.Err != nil {
				fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\terror\t%v\n", name, a, r.Err)
				failed = append(failed, name)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", name, a, r.Current, r.Output.Raw, r.Output.Target, r.Output.Outcome, r.Output.Reason)
		}
	}
	tw.Flush()
	if len(failed) > 0 {
		return fmt.Errorf("could not evaluate %s", strings.Join(failed, ", "))
	}
	return nil
}

func rollback(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var user string
	var dryRun bool
	fs := flag.NewFlagSet("rollback", flag.ContinueOnError)
	c.register(fs, true)
	fs.StringVar(&user, "user", "", "Who asks for the rollback (recorded as initiated_user_id; required).")
	fs.BoolVar(&dryRun, "dry-run", false, "Print the rollback that would be done, do nothing.")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("rollback takes exactly one event id")}
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
	// A rollback reads no metrics: it re-applies a recorded state.
	sc, err := buildScaler(pol, st, "http://localhost:9090", 5*time.Second, nil, "", false, logger, nil)
	if err != nil {
		return err
	}
	ev, err := sc.Rollback(ctx, fs.Arg(0), user, dryRun)
	if err != nil {
		return fmt.Errorf("rollback %s: %w", fs.Arg(0), err)
	}
	if dryRun {
		fmt.Fprintf(stdout, "would %s %s: %s → %s (%s)\n", ev.Type, ev.Service, ev.Before, ev.After, ev.TriggerReason)
		return nil
	}
	fmt.Fprintf(stdout, "rollback event %s: %s %s %s → %s: %s\n", ev.ID, ev.Type, ev.Service, ev.Before, ev.After, ev.Status)
	if ev.Status != store.StatusCompleted {
		return fmt.Errorf("rollback %s: %s", ev.Status, ev.ErrorMessage)
	}
	return nil
}

func sortStrings(s []string) { sort.Strings(s) }
