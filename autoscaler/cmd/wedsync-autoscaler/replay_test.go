package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const replayPolicy = "../../replay/testdata/policy.yml"

func traceFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	return writeFile(t, dir, name, "timestamp,requests_per_second\n"+body)
}

// Bad input to replay: a message naming the field or the line, a non-zero
// exit, nothing run.
func TestReplayBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := "../../replay/testdata/traces/flat-noisy.csv"
	gap := traceFile(t, dir, "gap.csv", "2027-03-01T12:00:00Z,10\n2027-03-01T12:00:10Z,10\n2027-03-01T12:00:30Z,10\n")
	neg := traceFile(t, dir, "neg.csv", "2027-03-01T12:00:00Z,10\n2027-03-01T12:00:10Z,-4\n")
	unsorted := traceFile(t, dir, "unsorted.csv", "2027-03-01T12:00:10Z,10\n2027-03-01T12:00:00Z,10\n")
	header := writeFile(t, dir, "header.csv", "time,rps\n2027-03-01T12:00:00Z,1\n")
	badCron := writeFile(t, dir, "cron.yml", strings.Replace(mustRead(t, replayPolicy), `cron: "55 18 * * *"`, `cron: "55 25 * * *"`, 1))
	shortLead := writeFile(t, dir, "lead.yml", strings.Replace(mustRead(t, replayPolicy), "min_ready_time: 1m", "min_ready_time: 1m\n      lead: 5s", 1))
	base := []string{"replay", "--config.file=" + replayPolicy, "--service=api", "--capacity-per-replica=100", "--ready-after=30s"}
	tests := []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"gap", append(base, "--trace="+gap), false, "trace line 4, column timestamp: step 20s, but the trace's step is 10s (a gap or an irregular step)"},
		{"negative rate", append(base, "--trace="+neg), false, "trace line 3, column requests_per_second"},
		{"unsorted", append(base, "--trace="+unsorted), false, "trace line 3, column timestamp: 2027-03-01T12:00:00Z is not after the previous"},
		{"header", append(base, "--trace="+header), false, `trace line 1: header "time,rps", want "timestamp,requests_per_second"`},
		{"missing file", append(base, "--trace="+filepath.Join(dir, "none.csv")), false, "no such file"},
		{"unknown service", []string{"replay", "--config.file=" + replayPolicy, "--service=db", "--capacity-per-replica=100", "--trace=" + good}, true, `--service: "db" is not in the policy file`},
		{"required flags", []string{"replay", "--config.file=" + replayPolicy}, true, "replay: --capacity-per-replica, --service, --trace required"},
		{"negative capacity", append(base[:4], "--capacity-per-replica=-3", "--trace="+good), true, "--capacity-per-replica: must be a positive number"},
		{"format", append(base, "--trace="+good, "--format=xml"), true, `--format: "xml" is not table or json`},
		{"strategy", append(base, "--trace="+good, "--strategies=level,magic"), true, `--strategies: "magic" is not one of reactive, level, predictive, scheduled, hpa`},
		{"invalid cron", []string{"replay", "--config.file=" + badCron, "--service=api", "--capacity-per-replica=100", "--trace=" + good}, false, `services.api.schedules[0].cron: "55 25 * * *"`},
		{"lead shorter than the sync period", []string{"replay", "--config.file=" + shortLead, "--service=api", "--capacity-per-replica=100", "--trace=" + good}, false,
			"services.api.predictive.lead: 5s is shorter than the sync period (15s)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(context.Background(), tc.args, &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if isUsage(err) != tc.usage {
				t.Fatalf("usage error = %v, want %v", isUsage(err), tc.usage)
			}
			if out.Len() != 0 {
				t.Fatalf("printed a report despite the error:\n%s", out.String())
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The scripted interface: --format=json prints every strategy with its
// figures, forecast_mape null where nothing forecasts.
func TestReplayJSON(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"replay", "--config.file=" + replayPolicy, "--service=api", "--trace=../../replay/testdata/traces/slow-ramp.csv",
		"--capacity-per-replica=100", "--ready-after=30s", "--format=json"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Strategies map[string]map[string]any `json:"strategies"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, s := range []string{"reactive", "level", "predictive", "scheduled", "hpa"} {
		r, ok := rep.Strategies[s]
		if !ok {
			t.Fatalf("no strategy %s in %s", s, out.String())
		}
		for _, k := range []string{"slo_violation_minutes", "replica_hours", "actions", "flaps", "forecast_mape"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("strategy %s lacks %s", s, k)
			}
		}
	}
	if rep.Strategies["level"]["forecast_mape"] != nil || rep.Strategies["hpa"]["forecast_mape"] != nil {
		t.Fatal("forecast_mape of a strategy without forecasts is not null")
	}
	if _, ok := rep.Strategies["predictive"]["forecast_mape"].(float64); !ok {
		t.Fatal("predictive has no forecast_mape on a ramp")
	}
}

// The --html chart, opened in headless Chromium: the table and both charts
// render, one series per strategy (and the load).
func TestReplayHTMLInChromium(t *testing.T) {
	t.Parallel()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: run `make deps` (scripts/deps.sh installs it)")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "replay.html")
	if err := run(context.Background(), []string{"replay", "--config.file=" + replayPolicy, "--service=api", "--trace=../../replay/testdata/traces/flash-spike.csv",
		"--capacity-per-replica=100", "--ready-after=30s", "--html=" + page}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+filepath.Join(dir, "profile"), "--dump-dom", "file://"+page)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	text := string(dom)
	for _, want := range []string{`data-chart="capacity"`, `data-chart="p95"`, `data-strategy="hpa"`, `data-series="offered load"`} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered page lacks %s", want)
		}
	}
	// Each chart's SVG was drawn by the script: a polyline per series.
	if n := strings.Count(text, "<polyline"); n < 11 {
		t.Errorf("%d polylines drawn, want at least 11 (load + 5 capacities, 5 latencies)", n)
	}
}
