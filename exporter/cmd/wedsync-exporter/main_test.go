package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
func (w *syncWriter) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"--web.listen"}, "flag provided but not defined: -web.listen", true},
		{[]string{"extra"}, `unexpected arguments ["extra"]`, true},
		{[]string{"--config.file=../../config.example.yml", "--log.level=loud"}, `--log.level: "loud" is not debug, info, warn or error`, true},
		{[]string{"--config.file=missing.yml"}, "open missing.yml: no such file or directory", false},
	} {
		err := run(context.Background(), tc.args, io.Discard, io.Discard)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: %v, want %s", tc.args, err, tc.want)
			continue
		}
		if isUsage(err) != tc.usage {
			t.Errorf("%v: usage error %v, want %v", tc.args, !tc.usage, tc.usage)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--config.file=../../config.example.yml", "--config.check"}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "SUCCESS") {
		t.Errorf("--config.check of the example: %v %s", err, out.String())
	}
	if err := run(context.Background(), []string{"-h"}, io.Discard, io.Discard); err != nil {
		t.Errorf("-h: %v", err)
	}
}

// The exporter for real: PostgreSQL as both the control plane and the
// application database, the FOCUS fixtures and manual entries as sources,
// /metrics clean under promtool, /readyz, graceful shutdown.
func TestServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	for _, name := range []string{"spec_v1.2_cd_flex_100pct_2_resources.csv", "spec_v1.2_saas_spend_agreements_b2.csv"} {
		b, err := os.ReadFile(filepath.Join("../../billing/testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, name, string(b))
	}
	dsn := storetest.DSN(t)
	dsnFile := writeFile(t, dir, "dsn", dsn)
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	// Three days of domains: a service with less history is not projected.
	before := [2]string{time.Now().UTC().AddDate(0, 0, -3).Format(time.DateOnly), time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly)}
	cfg := writeFile(t, dir, "exporter.yml", fmt.Sprintf(`
sources:
  - {name: acme, type: focus, focus: {paths: [%q], service: acme}}
  - name: manual
    type: manual
    manual: {file: %q}
application_database: {url: {file: %q}}
users: {total_query: "SELECT 1500"}
capacity:
  resources:
    - {resource: database_connections, usage: connections, unit: connections}
    - {resource: database_storage, usage: database_size, unit: bytes, limit: 8589934592}
metrics: {snapshot_interval: 1s}
`, filepath.Join(dir, "*.csv"), writeFile(t, dir, "manual.yml", fmt.Sprintf(
		"entries: [{date: %q, service: domains, amount: 12.50, team: platform}, {date: %q, service: bad, amount: 1e400}, "+
			"{date: %q, service: domains, amount: 12.50, team: platform}, {date: %q, service: domains, amount: 12.50, team: platform}]\n",
		yesterday, yesterday, before[0], before[1])), dsnFile))
	port, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	var logs syncWriter
	go func() {
		done <- run(sctx, []string{"--config.file=" + cfg, "--database.url-file=" + dsnFile, "--web.listen-address=" + base[7:]}, io.Discard, &logs)
	}()
	var metrics string
	want := []string{
		`wedsync_exporter_source_up{source="acme"} 1`,
		`wedsync_exporter_source_up{source="manual"} 1`,
		`wedsync_exporter_source_row_errors{source="manual"} 1`,
		`wedsync_cost_daily_usd{feature="unattributed",resource="",service="domains",team="platform"} 12.5`,
		`wedsync_users{state="total"} 1500`,
		`wedsync_growth_phase_progress_ratio{phase="startup"} 1.5`,
		`wedsync_capacity_utilization_ratio{resource="database_connections",service="database"}`,
		`wedsync_exporter_collector_success{collector="capacity"} 1`,
		`wedsync_cost_projection_usd{horizon="year",service="domains"}`,
		"go_goroutines",
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\nlog:\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no complete /metrics in time:\n%s\nlog:\n%s", metrics, logs.String())
		}
		resp, err := http.Get(base + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			metrics = string(b)
			missing := ""
			for _, w := range want {
				if !strings.Contains(metrics, w) {
					missing = w
					break
				}
			}
			if missing == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/metrics lacks %s:\n%s\nlog:\n%s", missing, metrics, logs.String())
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), `"msg":"row refused","source":"manual","where":"`+filepath.Join(dir, "manual.yml")+`: entries[1]"`) {
		t.Errorf("the refused row is not logged with its place:\n%s", logs.String())
	}
	promtoolCheckMetrics(t, []byte(metrics))
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", path, resp, err)
		}
	}
	if strings.Contains(logs.String(), dsn) {
		t.Error("the database URL was logged")
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no graceful stop")
	}
}

func promtoolCheckMetrics(t *testing.T, metrics []byte) {
	t.Helper()
	if err := devstack.CheckMetrics(context.Background(), metrics); err != nil {
		t.Fatal(err)
	}
}
