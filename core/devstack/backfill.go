package devstack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// StartPrometheusWithHistory starts a Prometheus whose storage already
// holds history: the OpenMetrics text (samples with timestamps, ending in
// "# EOF") is turned into blocks with `promtool tsdb create-blocks-from
// openmetrics`, as an operator would backfill. Tests of anything that reads
// days or months of series use it instead of waiting for scrapes.
func StartPrometheusWithHistory(ctx context.Context, openMetrics string, opts ServerOptions) (*Server, error) {
	promtool, err := LookPath([]string{"promtool"})
	if err != nil {
		return nil, err
	}
	dir, err := TempDir("wedsync-prometheus-")
	if err != nil {
		return nil, err
	}
	in := filepath.Join(dir, "history.om")
	if err := os.WriteFile(in, []byte(openMetrics), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", in, filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("backfill: %w\n%s", err, out)
	}
	os.Remove(in)
	opts.Dir = dir
	if opts.Config == nil {
		opts.Config = []byte("global: {scrape_interval: 15s}\n")
	}
	s, err := StartPrometheus(ctx, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.own = true // Close removes the folder
	return s, nil
}
