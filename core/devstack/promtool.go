package devstack

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
)

// CheckMetrics lints an exposition (a /metrics body) with `promtool check
// metrics`, the check Prometheus users run on an exporter: naming, units,
// counters' _total, HELP. Every component's tests run their own scrape
// through it.
func CheckMetrics(ctx context.Context, exposition []byte) error {
	promtool, err := LookPath([]string{"promtool"})
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("promtool check metrics: %w\n%s", err, out)
	}
	return nil
}
