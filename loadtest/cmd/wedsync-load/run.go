package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wedsync/scaling/core/cli"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/loadtest/engine"
	"github.com/wedsync/scaling/loadtest/record"
	"github.com/wedsync/scaling/loadtest/report"
	"github.com/wedsync/scaling/loadtest/scenario"
	"github.com/wedsync/scaling/loadtest/summary"
)

type runFlags struct {
	common
	target           string
	name             string
	vus              int64
	duration         time.Duration
	rampUp           time.Duration
	rate             int64
	thinkTime        string
	summaryFile      string
	summaryExport    string
	reportFile       string
	maxVUs           int64
	maxDuration      time.Duration
	confirmLong      bool
	listen           string
	alertmanagers    string
	initiatedBy      string
	failOnRegression bool
	progress         string
	tick             time.Duration
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var f runFlags
	f.register(fs)
	fs.StringVar(&f.target, "target", "", "Base URL of the system under test (http:// or https://).")
	fs.StringVar(&f.name, "name", "", "Benchmark name the run is recorded and compared under (default: the scenario's name).")
	fs.Int64Var(&f.vus, "vus", 0, "Built-in scenarios: peak users (volume: most VUs).")
	fs.DurationVar(&f.duration, "duration", 0, "Built-in scenarios: whole run.")
	fs.DurationVar(&f.rampUp, "ramp-up", 0, "Built-in scenarios: time to reach the peak.")
	fs.Int64Var(&f.rate, "rate", 0, "Built-in volume scenario: requests per second.")
	fs.StringVar(&f.thinkTime, "think-time", "", "Built-in closed scenarios: a user's pause between requests (e.g. 1s, 0s).")
	fs.StringVar(&f.summaryFile, "summary", "", "Write the k6 handleSummary-shaped summary JSON here ('-' for standard output).")
	fs.StringVar(&f.summaryExport, "summary-export", "", "Write the legacy k6 --summary-export JSON here.")
	fs.StringVar(&f.reportFile, "report", "", "Write the HTML report here.")
	fs.Int64Var(&f.maxVUs, "max-vus", scenario.DefaultLimits.MaxVUs, "Refuse scenarios with more virtual users than this.")
	fs.DurationVar(&f.maxDuration, "max-duration", scenario.DefaultLimits.MaxDuration, "Refuse longer scenarios unless --confirm-long.")
	fs.BoolVar(&f.confirmLong, "confirm-long", false, "Allow a run longer than --max-duration (soak tests).")
	fs.StringVar(&f.listen, "web.listen-address", "", "Serve live Prometheus metrics at /metrics on this address (e.g. :9684); off by default.")
	fs.StringVar(&f.alertmanagers, "alertmanager.url", "", "Comma-separated Alertmanager URLs for the regression alert.")
	fs.StringVar(&f.initiatedBy, "initiated-by", os.Getenv("USER"), "Who started the run (load_tests.initiated_by).")
	fs.BoolVar(&f.failOnRegression, "fail-on-regression", false, "Exit with status 97 when the run regressed against its baseline.")
	fs.StringVar(&f.progress, "progress", "auto", "Progress display: auto (a bar on a terminal, lines otherwise), bar, lines, none.")
	fs.DurationVar(&f.tick, "progress.interval", 0, "Time between progress lines (default 1s for the bar, 10s for lines).")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("run takes one scenario: a built-in name (" + strings.Join(scenario.BuiltinNames(), ", ") + ") or a file")}
	}
	logger, err := f.logger(stderr)
	if err != nil {
		return err
	}
	sc, err := f.scenario(fs.Arg(0))
	if err != nil {
		return err
	}
	limits := scenario.Limits{MaxVUs: f.maxVUs, MaxDuration: f.maxDuration, ConfirmLong: f.confirmLong}
	opts := engine.Options{Limits: &limits, Logger: logger}
	if err := engine.Check(sc, opts); err != nil {
		return err
	}

	// The database is optional: without one the run is not recorded.
	var rc *record.Recorder
	s, err := f.open(ctx)
	switch {
	case errors.Is(err, cli.ErrNoDatabase):
		fmt.Fprintln(stderr, "note: not recorded:", err)
	case err != nil:
		return err
	default:
		defer s.Close()
		rc = &record.Recorder{Store: s, Logger: logger}
		if f.alertmanagers != "" {
			am, err := record.NewAlertmanager(splitComma(f.alertmanagers), "")
			if err != nil {
				return usageError{fmt.Errorf("--alertmanager.url: %w", err)}
			}
			rc.Alerter = am
		}
	}

	var r *engine.Run
	var rec *record.Recorded
	if rc != nil {
		rec, err = rc.Start(ctx, sc, opts, f.initiatedBy)
		if err == nil {
			r = rec.Run
		}
	} else {
		r, err = engine.Start(ctx, sc, opts)
	}
	if err != nil {
		return err
	}
	stopMetrics, err := serveMetrics(f.listen, r, logger)
	if err != nil {
		r.Cancel()
		r.Wait()
		if rec != nil {
			rec.Wait(ctx) //nolint:errcheck // the listen error is what matters
		}
		return err
	}
	defer stopMetrics()
	fmt.Fprintf(stderr, "running %s (%s) against %s: %s, up to %d VUs\n", sc.Name, sc.Type, sc.Target, sc.TotalDuration(), sc.PeakVUs())
	showProgress(r, f.progress, f.tick, stderr)

	var res *engine.Result
	var out record.Outcome
	if rec != nil {
		res, out, err = rec.Wait(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "error: recording the run:", err)
		}
	} else {
		res, _ = r.Wait()
	}
	if werr := writeOutputs(&f, res, out, stdout); werr != nil {
		err = errors.Join(err, werr)
	}
	text := stdout
	if f.summaryFile == "-" || f.summaryExport == "-" || f.reportFile == "-" {
		text = stderr // standard output carries the file asked for
	}
	printResult(text, res, out, rc != nil)
	if err != nil {
		return err
	}
	switch {
	case res.Status == engine.StatusCancelled:
		return exitError{130, errors.New("cancelled; partial results kept")}
	case res.Status == engine.StatusFailed:
		return exitError{99, errors.New(res.FailureReason)}
	case !res.Passed:
		return exitError{99, errors.New("thresholds crossed")}
	case f.failOnRegression && out.Regressed():
		return exitError{97, errors.New("performance regressed against the baseline")}
	}
	return nil
}

func (f *runFlags) scenario(arg string) (scenario.Scenario, error) {
	_, builtin := scenario.Builtins[arg]
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		builtin = false
	} else if !builtin {
		return scenario.Scenario{}, usageError{fmt.Errorf("%q is neither a built-in scenario (%s) nor a file", arg, strings.Join(scenario.BuiltinNames(), ", "))}
	}
	var sc scenario.Scenario
	if builtin {
		if f.target == "" {
			return sc, usageError{errors.New("--target is required with a built-in scenario")}
		}
		o := scenario.Override{VUs: f.vus, Duration: f.duration, RampUp: f.rampUp, Rate: f.rate}
		if f.thinkTime != "" {
			d, err := time.ParseDuration(f.thinkTime)
			if err != nil || d < 0 {
				return sc, usageError{fmt.Errorf("--think-time: %q is not a duration", f.thinkTime)}
			}
			o.ThinkTime = &d
		}
		var err error
		if sc, err = scenario.FromBuiltin(arg, f.target, o); err != nil {
			return sc, err
		}
	} else {
		if f.vus != 0 || f.duration != 0 || f.rampUp != 0 || f.rate != 0 || f.thinkTime != "" {
			return sc, usageError{errors.New("--vus, --duration, --ramp-up, --rate and --think-time apply to built-in scenarios; edit the file instead")}
		}
		var err error
		if sc, err = scenario.Load(arg); err != nil {
			return sc, err
		}
		if f.target != "" {
			sc.Target = f.target
		}
	}
	if f.name != "" {
		sc.Name = f.name
	}
	if err := sc.Validate(); err != nil {
		return sc, err
	}
	return sc, nil
}

func serveMetrics(addr string, r *engine.Run, logger *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collector())
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--web.listen-address: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx) //nolint:errcheck // shutting down anyway
	}, nil
}

// showProgress prints the live progress until the run ends: a bar redrawn
// in place on a terminal, plain lines otherwise.
func showProgress(r *engine.Run, mode string, every time.Duration, w io.Writer) {
	if mode == "auto" {
		mode = "lines"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				mode = "bar"
			}
		}
	}
	if mode == "none" {
		<-r.Done()
		return
	}
	if every <= 0 {
		every = time.Second
		if mode == "lines" {
			every = 10 * time.Second
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	name := r.Scenario().Name
	for {
		select {
		case <-r.Done():
			if mode == "bar" {
				fmt.Fprintf(w, "\r%s\n", progressLine(name, r.Progress(), 80))
			}
			return
		case <-t.C:
			line := progressLine(name, r.Progress(), 80)
			if mode == "bar" {
				fmt.Fprintf(w, "\r%s\x1b[K", line)
			} else {
				fmt.Fprintln(w, line)
			}
		}
	}
}

func progressLine(name string, p engine.Progress, _ int) string {
	frac := 0.0
	if p.Total > 0 {
		frac = math.Min(1, float64(p.Elapsed)/float64(p.Total))
	}
	const width = 20
	filled := int(frac * width)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	load := fmt.Sprintf("vus %d/%d", p.VUs, p.VUsMax)
	if p.TargetRate > 0 {
		load = fmt.Sprintf("rate %.0f/s vus %d/%d", p.TargetRate, p.VUs, p.VUsMax)
	}
	p95 := "-"
	if !math.IsNaN(p.P95) {
		p95 = fmt.Sprintf("%.1fms", p.P95)
	}
	line := fmt.Sprintf("%s [%s] %3.0f%% %s/%s  %s  req/s %.0f  p95 %s  errors %.2f%% (%d)",
		name, bar, frac*100, p.Elapsed.Round(time.Second), p.Total, load, p.RPS, p95, p.ErrorRate*100, p.Errors)
	if p.Dropped > 0 {
		line += fmt.Sprintf("  dropped %d", p.Dropped)
	}
	return line
}

func writeOutputs(f *runFlags, res *engine.Result, out record.Outcome, stdout io.Writer) error {
	data := summary.FromResult(res)
	var errs []error
	write := func(path string, fn func(io.Writer) error) {
		if path == "" {
			return
		}
		if path == "-" {
			errs = append(errs, fn(stdout))
			return
		}
		fh, err := os.Create(path)
		if err != nil {
			errs = append(errs, err)
			return
		}
		if err := fn(fh); err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", path, err))
		}
		errs = append(errs, fh.Close())
	}
	write(f.summaryFile, func(w io.Writer) error {
		b, err := data.MarshalIndent()
		if err == nil {
			_, err = w.Write(b)
		}
		return err
	})
	write(f.summaryExport, func(w io.Writer) error {
		b, err := data.MarshalLegacy()
		if err == nil {
			_, err = w.Write(b)
		}
		return err
	})
	write(f.reportFile, func(w io.Writer) error {
		return report.Write(w, report.Input{Result: res, LoadTestID: out.LoadTest.ID, Comparison: out.Comparison})
	})
	return errors.Join(errs...)
}

func printResult(w io.Writer, res *engine.Result, out record.Outcome, recorded bool) {
	m := res.Metrics
	d := m["http_req_duration"].Values
	reqs := m["http_reqs"].Values
	failed := m["http_req_failed"].Values
	fmt.Fprintf(w, "\n%s (%s) against %s: %s after %s\n", res.Name, res.Type, res.Target, res.Status, res.Duration.Round(time.Millisecond))
	if res.FailureReason != "" {
		fmt.Fprintf(w, "  reason ............. %s\n", res.FailureReason)
	}
	fmt.Fprintf(w, "  http_reqs .......... %.0f  %.1f/s\n", reqs["count"], reqs["rate"])
	fmt.Fprintf(w, "  http_req_duration .. p50=%.2fms p90=%.2fms p95=%.2fms p99=%.2fms max=%.2fms\n", d["med"], d["p(90)"], d["p(95)"], d["p(99)"], d["max"])
	fmt.Fprintf(w, "  http_req_failed .... %.2f%%  %.0f of %.0f\n", failed["rate"]*100, failed["passes"], reqs["count"])
	fmt.Fprintf(w, "  data ............... sent %.0f B, received %.0f B\n", m["data_sent"].Values["count"], m["data_received"].Values["count"])
	fmt.Fprintf(w, "  vus ................ max %.0f; capacity within thresholds %d users\n", m["vus"].Values["max"], res.Capacity)
	if dr, ok := m["dropped_iterations"]; ok {
		fmt.Fprintf(w, "  dropped_iterations . %.0f\n", dr.Values["count"])
	}
	for _, mo := range res.Models {
		basis := "from the scheduled time (open model, coordinated-omission safe)"
		if !mo.Open {
			basis = "from send (closed model: under-reports stalls)"
		}
		fmt.Fprintf(w, "  latency of %-8s . %s\n", mo.Scenario, basis)
	}
	if len(res.Thresholds) > 0 {
		fmt.Fprintln(w, "thresholds:")
		for _, th := range res.Thresholds {
			mark := "✓"
			if !th.OK {
				mark = "✗"
			}
			fmt.Fprintf(w, "  %s %s %s (%.4g)\n", mark, th.Metric, th.Threshold, th.Value)
		}
	}
	if !recorded {
		return
	}
	if out.LoadTest.ID != "" {
		fmt.Fprintf(w, "recorded: load test %s (%s)", out.LoadTest.ID, out.LoadTest.Status)
		if out.Benchmark != nil {
			fmt.Fprintf(w, ", benchmark %s", out.Benchmark.ID)
		}
		fmt.Fprintln(w)
	}
	printComparison(w, out)
}

func printComparison(w io.Writer, out record.Outcome) {
	switch {
	case out.LoadTest.Status != store.LoadTestCompleted && out.LoadTest.ID != "":
		fmt.Fprintln(w, "baseline: not compared (the run did not complete)")
	case out.Comparison == nil:
		fmt.Fprintf(w, "baseline: none yet for %q; make this run the baseline with: wedsync-load baseline %s\n", out.LoadTest.Name, out.LoadTest.ID)
	default:
		describeComparison(w, *out.Comparison)
		if out.AlertErr != nil {
			fmt.Fprintln(w, "alert: could not raise the regression alert:", out.AlertErr)
		}
	}
}

func describeComparison(w io.Writer, c record.Comparison) {
	fmt.Fprintf(w, "against baseline benchmark %s (recorded %s):\n", c.BaselineBenchmarkID, c.BaselineRecordedAt.UTC().Format(time.RFC3339))
	for _, l := range strings.Split(c.Describe(), "\n") {
		fmt.Fprintln(w, "  "+l)
	}
	if c.Regressed {
		fmt.Fprintf(w, "REGRESSION: %s\n", strings.Join(c.Regressions(), "; "))
	} else {
		fmt.Fprintf(w, "no regression (nothing more than %g%% worse)\n", c.Tolerance*100)
	}
}
