package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteJSON prints the report in the scripted format:
// {"strategies": {"reactive": {...}, ...}} plus the run's parameters.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable prints one line per strategy.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "replay of %s: %s from %s at %s steps; %g req/s per replica, ready after %s", r.Service, r.TraceDuration,
		r.TraceStart.Format("2006-01-02 15:04 MST"), r.TraceStep, r.CapacityPerReplica, r.ReadyAfter)
	if r.Warmup != "" {
		fmt.Fprintf(w, "; the first %s warm up and are not counted", r.Warmup)
	}
	fmt.Fprint(w, "\n\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "STRATEGY\tSLO-VIOLATION MIN\tREPLICA-HOURS\tACTIONS\tFLAPS\tFORECAST MAPE\tREFUSED\tMAX REPLICAS\tMAX P95\t")
	for _, name := range r.Sorted() {
		s := r.Strategies[name]
		mape := "-"
		if s.ForecastMAPE != nil {
			mape = fmt.Sprintf("%.1f %%", 100**s.ForecastMAPE)
		}
		p95 := "-"
		if s.P95MaxSeconds > 0 {
			p95 = fmt.Sprintf("%.2fs", s.P95MaxSeconds)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%d\t%d\t%s\t%.0f\t%d\t%s\t\n", name, s.SLOViolationMinutes, s.ReplicaHours, s.Actions, s.Flaps, mape,
			s.Refused, s.MaxReplicas, p95)
	}
	return tw.Flush()
}
