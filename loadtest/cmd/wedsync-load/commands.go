package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/loadtest/record"
	"github.com/wedsync/scaling/loadtest/scenario"
	"github.com/wedsync/scaling/loadtest/summary"
)

func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	var c common
	c.register(fs)
	name := fs.String("name", "", "Benchmark name the run belongs to (required).")
	typ := fs.String("type", "custom", "Test type: baseline, stress, spike, volume, endurance, custom.")
	target := fs.String("target", "", "URL of the system that was tested (recorded as is).")
	endedAt := fs.String("ended-at", "", "When the run ended, RFC 3339 (default: now).")
	initiatedBy := fs.String("initiated-by", os.Getenv("USER"), "Who ran it.")
	alertmanagers := fs.String("alertmanager.url", "", "Comma-separated Alertmanager URLs for the regression alert.")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 || *name == "" {
		return usageError{errors.New("usage: wedsync-load import FILE --name=NAME [--type=TYPE] [--target=URL]")}
	}
	meta := record.ImportMeta{Name: *name, Type: scenario.Type(*typ), Target: *target, InitiatedBy: *initiatedBy}
	if *endedAt != "" {
		t, err := time.Parse(time.RFC3339, *endedAt)
		if err != nil {
			return usageError{fmt.Errorf("--ended-at: %w", err)}
		}
		meta.EndedAt = t
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	data, format, err := summary.Parse(b)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	logger, err := c.logger(stderr)
	if err != nil {
		return err
	}
	rc := &record.Recorder{Store: s, Logger: logger}
	if *alertmanagers != "" {
		am, err := record.NewAlertmanager(splitComma(*alertmanagers), "")
		if err != nil {
			return usageError{fmt.Errorf("--alertmanager.url: %w", err)}
		}
		rc.Alerter = am
	}
	out, err := rc.Import(ctx, data, format, meta)
	if err != nil {
		return err
	}
	f := data.Figures()
	fmt.Fprintf(stdout, "imported %s (k6 %s) as load test %s, benchmark %s\n", fs.Arg(0), format, out.LoadTest.ID, out.Benchmark.ID)
	fmt.Fprintf(stdout, "  requests %d over %.1f s; throughput %s req/s; p95 %s ms; p99 %s ms; error rate %s\n",
		f.Requests, f.Duration, opt(f.Throughput), opt(f.P95), opt(f.P99), opt(f.ErrorRate))
	printComparison(stdout, out)
	return nil
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func opt(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.4g", *v)
}

func baselineCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	var c common
	c.register(fs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("usage: wedsync-load baseline LOAD_TEST_ID")}
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	b, err := (&record.Recorder{Store: s}).MarkBaseline(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "load test %s (benchmark %s) is now the baseline of %q\n", fs.Arg(0), b.ID, b.Name)
	return nil
}

func compareCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	var c common
	c.register(fs)
	failOnRegression := fs.Bool("fail-on-regression", false, "Exit with status 97 when regressed.")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return usageError{errors.New("usage: wedsync-load compare LOAD_TEST_ID [OTHER_LOAD_TEST_ID]")}
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	cmp, err := (&record.Recorder{Store: s}).Compare(ctx, fs.Arg(0), fs.Arg(1))
	if errors.Is(err, store.ErrNotFound) && fs.NArg() == 1 {
		return fmt.Errorf("%w (no baseline yet? mark one with: wedsync-load baseline ID)", err)
	}
	if err != nil {
		return err
	}
	describeComparison(stdout, cmp)
	if *failOnRegression && cmp.Regressed {
		return exitError{97, errors.New("performance regressed")}
	}
	return nil
}

func listCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	var c common
	c.register(fs)
	name := fs.String("name", "", "Only this benchmark name.")
	limit := fs.Int("limit", 20, "How many, newest first.")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	tests, err := s.ListLoadTests(ctx, store.LoadTestFilter{Name: *name, Limit: *limit})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tSTATUS\tPASSED\tSTARTED\tDURATION")
	for _, t := range tests {
		passed, started, dur := "-", "-", "-"
		if t.PassedCriteria != nil {
			passed = fmt.Sprint(*t.PassedCriteria)
		}
		if t.StartedAt != nil {
			started = t.StartedAt.UTC().Format(time.RFC3339)
		}
		if t.DurationSeconds != nil {
			dur = (time.Duration(*t.DurationSeconds * float64(time.Second))).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Type, t.Status, passed, started, dur)
	}
	return tw.Flush()
}

func scenariosCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scenarios", flag.ContinueOnError)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tDESCRIPTION")
	for _, n := range scenario.BuiltinNames() {
		b := scenario.Builtins[n]
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n, b.Type, b.Description)
	}
	fmt.Fprintln(tw, "\nthresholds of every built-in: http_req_duration p(95)<2000, p(99)<5000; http_req_failed rate<0.01")
	return tw.Flush()
}
