package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/storetest"
)

// serve reloads its policy file when it changes and on SIGHUP: a valid
// change (min_replicas) acts at the next evaluation; an invalid file is
// counted and the policy in force stays. The retention job runs at start.
func TestServeReloadsPolicy(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	prom, err := devstack.StartPrometheus(ctx, devstack.ServerOptions{Config: []byte("global: {scrape_interval: 1s}\n")})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()
	state := writeFile(t, dir, "replicas", "2\n")
	policy := func(min int) string {
		// cpu at its target: only the bounds move the service.
		return fmt.Sprintf(`
sync_period: 1s
services:
  api:
    actuator:
      type: exec
      exec:
        current_command: [cat, %[1]s]
        apply_command: [sh, -c, 'echo "$0" > %[1]s', "{{.Replicas}}"]
    min_replicas: %[2]d
    max_replicas: 8
    metric_window: 1s
    metrics: [{name: cpu, query: "vector(0.6)", target: 0.6}]
`, state, min)
	}
	pol := writeFile(t, dir, "policy.yml", policy(1))
	rewrite := func(text string) {
		t.Helper()
		tmp := filepath.Join(dir, "policy.yml.tmp")
		if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, pol); err != nil {
			t.Fatal(err)
		}
	}
	token := writeFile(t, dir, "token", "s3cret\n")
	dsn := writeFile(t, dir, "dsn", storetest.DSN(t))
	port, _ := devstack.FreePort()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	var logs syncWriter
	go func() {
		done <- run(sctx, []string{"serve", "--config.file=" + pol, "--database.url-file=" + dsn, "--web.listen-address=" + addr,
			"--prometheus.url=" + prom.URL(), "--web.webhook-token-file=" + token, "--config.reload-interval=100ms"}, io.Discard, &logs)
	}()
	base := "http://" + addr
	waitOK(t, ctx, base+"/healthz")
	metric := func(name string) string {
		t.Helper()
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(b)
		if m == nil {
			return ""
		}
		return string(m[1])
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s; log:\n%s", what, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	replicas := func() string {
		b, _ := os.ReadFile(state)
		return strings.TrimSpace(string(b))
	}
	waitFor("retention did not run at start", func() bool {
		return metric("wedsync_autoscaler_retention_last_success_timestamp_seconds") > "0"
	})

	rewrite(policy(4))
	waitFor("min_replicas 4 not applied after the file changed", func() bool { return replicas() == "4" })
	if metric("wedsync_autoscaler_policy_last_reload_successful") != "1" {
		t.Fatal("last reload not successful")
	}

	rewrite(strings.Replace(policy(6), "max_replicas: 8", "max_replicas: 5", 1)) // min above max
	waitFor("invalid policy not counted", func() bool { return metric("wedsync_autoscaler_policy_reload_errors_total") == "1" })
	if metric("wedsync_autoscaler_policy_last_reload_successful") != "0" {
		t.Fatal("last reload reported successful after an invalid file")
	}
	// SIGHUP retries even an unchanged file.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("SIGHUP did not reload", func() bool { return metric("wedsync_autoscaler_policy_reload_errors_total") == "2" })
	time.Sleep(1500 * time.Millisecond) // a sync period or more under the policy in force
	if got := replicas(); got != "4" {
		t.Fatalf("replicas %s after an invalid policy; the one in force (min 4) must stay", got)
	}
	if !strings.Contains(logs.String(), "policy reload failed; the policy in force is kept") {
		t.Errorf("reload failure not logged; log:\n%s", logs.String())
	}

	rewrite(policy(5))
	waitFor("min_replicas 5 not applied after the fix", func() bool { return replicas() == "5" })
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

// Bad retention flags are usage errors naming the flag, before anything opens.
func TestServeRetentionFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ flag, want string }{
		{"--retention.decisions=1h", "--retention.decisions: 1h is shorter than 1d"},
		{"--retention.audit=a year", `invalid value "a year" for flag -retention.audit`},
		{"--retention.batch-size=0", "--retention.batch-size: 0, want 1 to 100000"},
	} {
		err := run(context.Background(), []string{"serve", "--web.webhook-token-file=x", tc.flag}, io.Discard, io.Discard)
		if err == nil || !isUsage(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v (usage %v); want %q", tc.flag, err, err != nil && isUsage(err), tc.want)
		}
	}
}
