package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/replay"
	"github.com/wedsync/scaling/autoscaler/replay/fleetsim"
	"github.com/wedsync/scaling/rules"
)

// replayCmd runs the real decision code over a load trace in simulated time
// and compares the strategies. It touches no database, Prometheus or
// actuator.
func replayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var service, tracePath, format, htmlPath, profile, thresholdsFile, arrivals, strategies, baselineFile string
	var capacity float64
	var readyAfter, warmup time.Duration
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	c.register(fs, false)
	fs.StringVar(&service, "service", "", "Service of the policy to replay (required).")
	fs.StringVar(&tracePath, "trace", "", "Load trace: CSV with the header timestamp,requests_per_second (RFC 3339 times, a fixed step) (required).")
	fs.Float64Var(&capacity, "capacity-per-replica", 0, "Requests per second one replica serves at 100 % busy (required).")
	fs.DurationVar(&readyAfter, "ready-after", time.Minute, "Time a new replica takes to become ready.")
	fs.DurationVar(&warmup, "warmup", 0, "Replay the first part of the trace (the forecasters learn from it) without counting it.")
	fs.StringVar(&format, "format", "table", "Output: table or json.")
	fs.StringVar(&htmlPath, "html", "", "Also write a chart of load, capacity and p95 per strategy to this file.")
	fs.StringVar(&profile, "thresholds.profile", "production", "Profile of the rules' thresholds and timings the simulated Prometheus and alerts follow.")
	fs.StringVar(&thresholdsFile, "thresholds.file", "", "thresholds.yml to read (default: the one built in, rules/thresholds.yml).")
	fs.StringVar(&arrivals, "arrivals", "poisson", "Arrival process of the simulated traffic: poisson (real users) or uniform (the demo's load driver).")
	fs.StringVar(&baselineFile, "baseline.config.file", "", "Policy the reactive strategy runs, under alerts-only control (default: the replayed policy): compare with the policy you ran before.")
	fs.StringVar(&strategies, "strategies", strings.Join(replay.Strategies, ","), "Strategies to run, comma-separated.")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("replay takes no arguments, got %q", fs.Args())}
	}
	var missing []string
	for name, v := range map[string]string{"--service": service, "--trace": tracePath} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if capacity == 0 {
		missing = append(missing, "--capacity-per-replica")
	}
	if len(missing) > 0 {
		return usageError{fmt.Errorf("replay: %s required", strings.Join(sortedCopy(missing), ", "))}
	}
	if format != "table" && format != "json" {
		return usageError{fmt.Errorf("--format: %q is not table or json", format)}
	}
	var arr fleetsim.Arrivals
	switch arrivals {
	case "poisson":
		arr = fleetsim.Poisson
	case "uniform":
		arr = fleetsim.Uniform
	default:
		return usageError{fmt.Errorf("--arrivals: %q is not poisson or uniform", arrivals)}
	}
	pol, err := policy.Load(c.configFile)
	if err != nil {
		return err
	}
	th, err := loadThresholds(thresholdsFile)
	if err != nil {
		return err
	}
	prof := th.Profiles[profile]
	if prof == nil {
		return usageError{fmt.Errorf("--thresholds.profile: %q is not one of %s", profile, strings.Join(th.ProfileNames(), ", "))}
	}
	var baseline *policy.File
	if baselineFile != "" {
		if baseline, err = policy.Load(baselineFile); err != nil {
			return fmt.Errorf("--baseline.config.file: %w", err)
		}
	}
	trace, err := replay.ReadTraceFile(tracePath)
	if err != nil {
		return fmt.Errorf("--trace: %w", err)
	}
	cfg := replay.Config{Policy: pol, Service: service, Trace: trace, CapacityPerReplica: capacity, ReadyAfter: readyAfter,
		Profile: prof, Arrivals: arr, Strategies: strings.Split(strategies, ","), Warmup: warmup, Baseline: baseline}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	rep, err := replay.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if htmlPath != "" {
		f, err := os.Create(htmlPath)
		if err != nil {
			return fmt.Errorf("--html: %w", err)
		}
		err = errors.Join(rep.WriteHTML(f), f.Close())
		if err != nil {
			return fmt.Errorf("--html: %w", err)
		}
	}
	if format == "json" {
		return rep.WriteJSON(stdout)
	}
	return rep.WriteTable(stdout)
}

func loadThresholds(path string) (*rules.Thresholds, error) {
	if path == "" {
		return rules.EmbeddedThresholds()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--thresholds.file: %w", err)
	}
	defer f.Close()
	t, err := rules.LoadThresholds(f)
	if err != nil {
		return nil, fmt.Errorf("--thresholds.file %s: %w", path, err)
	}
	return t, nil
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sortStrings(out)
	return out
}
