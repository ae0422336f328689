package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// policyFor writes a policy whose api service is an exec actuator over a
// state file, and whose metric is a constant Prometheus can always answer.
func policyFor(t *testing.T, dir string, replicas int) (policyFile, stateFile string) {
	stateFile = writeFile(t, dir, "replicas", fmt.Sprintf("%d\n", replicas))
	policyFile = writeFile(t, dir, "policy.yml", fmt.Sprintf(`
sync_period: 1s
services:
  api:
    actuator:
      type: exec
      exec:
        current_command: [cat, %[1]s]
        apply_command: [sh, -c, 'echo "$0" > %[1]s', "{{.Replicas}}"]
    min_replicas: 1
    max_replicas: 8
    price_per_replica_monthly: 20
    metric_window: 1s   # a constant: no rate window to fill after Prometheus starts
    metrics: [{name: cpu, query: "vector(0.9)", target: 0.6}]
`, stateFile))
	return policyFile, stateFile
}

func TestCommandErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yml", "services:\n  api:\n    min_replicas: 5\n    max_replicas: 2\n")
	tests := []struct {
		args  []string
		usage bool
		want  string
	}{
		{nil, true, "no command"},
		{[]string{"frobnicate"}, true, `unknown command "frobnicate"`},
		{[]string{"serve", "--no-such-flag"}, true, "flag provided but not defined: -no-such-flag"},
		{[]string{"serve", "--config.file=" + bad}, true, "--web.webhook-token-file is required"},
		{[]string{"serve", "--log.level=loud", "--web.webhook-token-file=x"}, true, `--log.level: "loud" is not debug`},
		{[]string{"check-config", "--config.file=" + bad}, false, "services.api: min_replicas (5) is greater than max_replicas (2)"},
		{[]string{"check-config", "--config.file=" + filepath.Join(dir, "missing.yml")}, false, "no such file"},
		{[]string{"rollback", "--config.file=" + bad}, true, "rollback takes exactly one event id"},
		{[]string{"rollback", "--config.file=" + bad, "some-id"}, true, "--user is required"},
		{[]string{"retry", "--config.file=" + bad}, true, "retry takes exactly one event id"},
		{[]string{"retry", "--config.file=" + bad, "some-id"}, true, "--user is required"},
		// Flags after the id are not flags (Go's flag package stops there).
		{[]string{"retry", "--config.file=" + bad, "some-id", "--user=ops@wedsync"}, true, "retry takes exactly one event id"},
		{[]string{"retry", "--config.file=" + bad, "--user=ops@wedsync", "--dry-run=maybe", "some-id"}, true, `invalid boolean value "maybe" for -dry-run`},
		{[]string{"eval", "--action=sideways"}, true, `--action: "sideways" is not scale_up, scale_down or both`},
	}
	for _, tc := range tests {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tc.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
			continue
		}
		if isUsage(err) != tc.usage {
			t.Errorf("%v: usage error = %v, want %v (exit status 2 vs 1)", tc.args, !tc.usage, tc.usage)
		}
	}
}

// check-config goes beyond the loader: queries through Prometheus' parser,
// credential files on disk; every problem named by its field, exit status 1.
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	token := writeFile(t, dir, "token", "s3cret\n")
	empty := writeFile(t, dir, "empty", " \n")
	kubeconfig := writeFile(t, dir, "kubeconfig", "apiVersion: v1\n")
	missing := filepath.Join(dir, "missing")
	// The example names /etc/wedsync/api-admin-token: point it at a real file.
	example, err := os.ReadFile("../../policy.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(example, []byte("/etc/wedsync/api-admin-token")) {
		t.Fatal("policy.example.yml no longer names /etc/wedsync/api-admin-token: update this test")
	}
	service := func(actuator, query string) string {
		return fmt.Sprintf("services:\n  api:\n    actuator: %s\n    min_replicas: 1\n    max_replicas: 4\n    metrics: [{name: cpu, query: '%s', target: 0.5}]\n", actuator, query)
	}
	httpAct := func(file string) string {
		return fmt.Sprintf(`{type: http, http: {url: "http://127.0.0.1:1/r", bearer_token: {file: %q}}}`, file)
	}
	exec := `{type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}`
	kube := func(file string) string {
		return fmt.Sprintf(`{type: kubernetes, kubernetes: {kind: Deployment, name: api, kubeconfig: %q}}`, file)
	}
	supabase := func(file string) string {
		return fmt.Sprintf(`{type: supabase, supabase: {project_ref: abcdefghijklmnopqrst, resource: read_replicas, access_token: {file: %q}}}`, file)
	}
	tests := []struct {
		name, policy string
		want         []string // empty: SUCCESS
	}{
		{"the example", strings.ReplaceAll(string(example), "/etc/wedsync/api-admin-token", token), nil},
		{"every reference good", service(httpAct(token), `service:cpu_utilization:ratio{service="api"}`), nil},
		{"kubeconfig and supabase token present", strings.Replace(service(kube(kubeconfig), "up"), "  api:", "  db:\n    actuator: "+supabase(token)+
			"\n    min_replicas: 1\n    max_replicas: 2\n    metrics: [{name: cpu, query: up, target: 0.5}]\n  api:", 1), nil},
		{"unclosed selector", service(exec, `service:cpu_utilization:ratio{service="api"`),
			[]string{"services.api.metrics[0].query: ", "1:44: parse error: unexpected end of input inside braces"}},
		{"not PromQL", service(exec, `cpu utilization`), []string{"services.api.metrics[0].query: ", "parse error"}},
		{"queue queries", service(exec, "up") + "    queue: {arrival_rate_query: 'rate(jobs[1m]', backlog_query: 'sum by (x jobs)', per_worker_rate: 1}\n",
			[]string{"services.api.queue.arrival_rate_query: ", "services.api.queue.backlog_query: "}},
		{"missing secret file", service(httpAct(missing), "up"),
			[]string{"services.api.actuator.http.bearer_token.file: open " + missing + ": no such file or directory"}},
		{"empty secret file", service(httpAct(empty), "up"), []string{"services.api.actuator.http.bearer_token.file: " + empty + " is empty"}},
		{"secret file is a directory", service(httpAct(dir), "up"), []string{"services.api.actuator.http.bearer_token.file: " + dir + " is not a regular file"}},
		{"missing kubeconfig", service(kube(missing), "up"), []string{"services.api.actuator.kubernetes.kubeconfig: open " + missing}},
		{"missing supabase token", service(supabase(missing), "up"), []string{"services.api.actuator.supabase.access_token.file: open " + missing}},
		{"every problem at once", service(httpAct(missing), "rate(x[5m]"),
			[]string{"services.api.metrics[0].query: ", "services.api.actuator.http.bearer_token.file: "}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, dir, fmt.Sprintf("policy-%d.yml", i), tc.policy)
			var out bytes.Buffer
			err := run(context.Background(), []string{"check-config", "--config.file=" + file}, &out, io.Discard)
			if len(tc.want) == 0 {
				if err != nil || !strings.Contains(out.String(), "SUCCESS") {
					t.Fatalf("err = %v, out = %q, want SUCCESS", err, out.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("SUCCESS (%q), want an error naming %q", out.String(), tc.want)
			}
			if isUsage(err) {
				t.Errorf("usage error (exit status 2), want exit status 1: %v", err)
			}
			if strings.Contains(out.String(), "SUCCESS") {
				t.Errorf("printed SUCCESS with an error: %q", out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), file+": ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// serve for real: PostgreSQL and Prometheus, the webhook with and without
// its token, /metrics clean under promtool, /readyz, graceful shutdown.
func TestServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	prom, err := devstack.StartPrometheus(ctx, devstack.ServerOptions{Config: []byte("global: {scrape_interval: 1s}\n")})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()
	pol, state := policyFor(t, dir, 2)
	token := writeFile(t, dir, "token", "s3cret\n")
	dsn := writeFile(t, dir, "dsn", storetest.DSN(t))
	port, _ := devstack.FreePort()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	var logs syncWriter
	go func() {
		done <- run(sctx, []string{"serve", "--config.file=" + pol, "--database.url-file=" + dsn, "--web.listen-address=" + addr,
			"--prometheus.url=" + prom.URL(), "--web.webhook-token-file=" + token}, io.Discard, &logs)
	}()
	base := "http://" + addr
	waitOK(t, ctx, base+"/healthz")

	body, err := os.ReadFile("../../webhook/testdata/am-0.25-firing.json")
	if err != nil {
		t.Fatal(err)
	}
	post := func(tok string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhook/alertmanager", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	if code := post("s3cret"); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	// The fixture's alert asks api to scale up; vector(0.9)/0.6 from 2 → 3.
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(state)
		if strings.TrimSpace(string(b)) == "3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("api not scaled to 3 (state %q); log:\n%s", b, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp, err := http.Get(base + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	// The state file changes when the apply command runs, before the event
	// is closed and counted: read /metrics until the action is in it.
	wants := []string{`wedsync_autoscaler_notifications_total{endpoint="scaling",result="accepted"} 1`, `wedsync_autoscaler_replicas{service="api"}`,
		`wedsync_autoscaler_decisions_total{outcome="scale",service="api"} 1`, "wedsync_autoscaler_actuator_duration_seconds_bucket",
		`wedsync_autoscaler_events_total{event_type="scale_up",service="api",status="completed"} 1`}
	var metrics []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		var missing []string
		for _, want := range wants {
			if !strings.Contains(string(metrics), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %v after 10 s", missing)
		}
	}
	promtoolCheckMetrics(t, metrics)

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop on cancel")
	}
}

func promtoolCheckMetrics(t *testing.T, metrics []byte) {
	t.Helper()
	if err := devstack.CheckMetrics(context.Background(), metrics); err != nil {
		t.Fatal(err)
	}
}

func TestEvalAndRollback(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	prom, err := devstack.StartPrometheus(ctx, devstack.ServerOptions{Config: []byte("global: {scrape_interval: 1s}\n")})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()
	pol, state := policyFor(t, dir, 2)
	time.Sleep(1100 * time.Millisecond) // the policy's 1 s metric window, since Prometheus started

	var out bytes.Buffer
	if err := run(ctx, []string{"eval", "--config.file=" + pol, "--prometheus.url=" + prom.URL()}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "level") || !strings.Contains(lines[1], " scale ") || !strings.Contains(lines[1], "2 → 3") {
		t.Fatalf("eval output:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"eval", "--config.file=" + pol, "--prometheus.url=" + prom.URL(), "--action=scale_down"}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "no firing alert asks for a scale-up") && !strings.Contains(out.String(), "scale_down asked for but metrics call for 3") {
		t.Fatalf("eval as if a scale-down alert fired: %v\n%s", err, out.String())
	}
	if b, _ := os.ReadFile(state); strings.TrimSpace(string(b)) != "2" {
		t.Fatalf("eval acted: state %q", b)
	}

	// rollback through the CLI of an event recorded by the autoscaler.
	dsn := storetest.DSN(t)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev, err := st.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "high_cpu_usage",
		Before: []byte(`{"replicas": 1}`), After: []byte(`{"replicas": 2}`), InitiatedBy: "autoscaler"})
	if err != nil {
		t.Fatal(err)
	}
	st.FinishEvent(ctx, ev.ID, store.StatusCompleted, "")
	dsnFile := writeFile(t, dir, "dsn", dsn)
	args := []string{"rollback", "--config.file=" + pol, "--database.url-file=" + dsnFile, "--user=ops@wedsync", ev.ID}
	out.Reset()
	if err := run(ctx, append([]string{args[0], "--dry-run"}, args[1:]...), &out, io.Discard); err != nil || !strings.Contains(out.String(), "would scale_down api") {
		t.Fatalf("dry-run rollback: %v %s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, args, &out, io.Discard); err != nil || !strings.Contains(out.String(), "completed") {
		t.Fatalf("rollback: %v %s", err, out.String())
	}
	if b, _ := os.ReadFile(state); strings.TrimSpace(string(b)) != "1" {
		t.Fatalf("state after rollback %q, want 1", b)
	}
	err = run(ctx, args, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "is rolled_back") {
		t.Fatalf("second rollback: %v", err)
	}
}

// TestRetry: retry through the CLI of a failed event recorded by the
// autoscaler (the service never moved: the state file is still the
// before), a dry run first, then the line the command prints, the state
// applied, and what a completed event and an unknown id answer.
func TestRetry(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	pol, state := policyFor(t, dir, 1)
	// The failed event recorded just now is the service's last action, and
	// a retry keeps the cooldown of any action; this test is not about it.
	b, _ := os.ReadFile(pol)
	writeFile(t, dir, "policy.yml", string(b)+"    scale_up: {cooldown: 0s}\n")
	dsn := storetest.DSN(t)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev, err := st.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "high_cpu_usage",
		Before: []byte(`{"replicas": 1}`), After: []byte(`{"replicas": 2}`), InitiatedBy: "autoscaler"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishEvent(ctx, ev.ID, store.StatusFailed, "actuator: 500 Internal Server Error"); err != nil {
		t.Fatal(err)
	}
	dsnFile := writeFile(t, dir, "dsn", dsn)
	args := []string{"retry", "--config.file=" + pol, "--database.url-file=" + dsnFile, "--user=ops@wedsync", ev.ID}
	var out bytes.Buffer
	if err := run(ctx, append([]string{args[0], "--dry-run"}, args[1:]...), &out, io.Discard); err != nil ||
		!strings.HasPrefix(out.String(), "would scale_up api: ") || !strings.Contains(out.String(), "retry of "+ev.ID) {
		t.Fatalf("dry-run retry: %v %q", err, out.String())
	}
	if b, _ := os.ReadFile(state); strings.TrimSpace(string(b)) != "1" {
		t.Fatalf("dry run acted: state %q", b)
	}
	out.Reset()
	if err := run(ctx, args, &out, io.Discard); err != nil {
		t.Fatalf("retry: %v %s", err, out.String())
	}
	line := regexp.MustCompile(`^retry event [0-9a-f-]{36}: scale_up api \{.*"replicas": ?1.*\} → \{.*"replicas": ?2.*\}: completed\n$`)
	if !line.MatchString(out.String()) {
		t.Fatalf("retry printed %q, want %s", out.String(), line)
	}
	if b, _ := os.ReadFile(state); strings.TrimSpace(string(b)) != "2" {
		t.Fatalf("state after retry %q, want 2", b)
	}
	newID := strings.Fields(out.String())[2]
	newID = strings.TrimSuffix(newID, ":")
	got, err := st.GetEvent(ctx, newID)
	if err != nil || got.RetryOf != ev.ID || got.InitiatedBy != "retry" || got.InitiatedUserID != "ops@wedsync" {
		t.Fatalf("the retry's event: %+v %v", got, err)
	}
	// Not failed: refused (exit status 1, not a usage error), nothing applied.
	err = run(ctx, []string{"retry", "--config.file=" + pol, "--database.url-file=" + dsnFile, "--user=ops@wedsync", newID}, &out, io.Discard)
	if err == nil || isUsage(err) || !strings.Contains(err.Error(), "is completed") {
		t.Fatalf("retry of a completed event: %v", err)
	}
	err = run(ctx, []string{"retry", "--config.file=" + pol, "--database.url-file=" + dsnFile, "--user=ops@wedsync", "00000000-0000-4000-8000-000000000000"}, &out, io.Discard)
	if err == nil || isUsage(err) || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("retry of an unknown event: %v", err)
	}
}

func waitOK(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	for {
		resp, err := http.Get(url)
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never answered 200", url)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// syncWriter lets the test read logs the server is still writing.
type syncWriter struct {
	mu sync.Mutex
	w  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
