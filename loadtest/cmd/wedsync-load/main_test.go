package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/loadtest/summary"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

type env struct {
	dir     string
	dsnFile string
	store   *store.Store
	srv     *httptest.Server
	hits    atomic.Int64
	delay   atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dir: t.TempDir()}
	dsn := storetest.DSN(t)
	e.dsnFile = filepath.Join(e.dir, "dsn")
	if err := os.WriteFile(e.dsnFile, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	e.store = s
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		e.hits.Add(1)
		time.Sleep(time.Duration(e.delay.Load()))
		w.Write([]byte("ok"))
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) file(t *testing.T, name, content string) string {
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) run(ctx context.Context, args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	err := run(ctx, args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

var loadTestID = regexp.MustCompile(`recorded: load test ([0-9a-f-]{36})`)

func TestRunRecordBaselineRegression(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sc := e.file(t, "checkout.yaml", `
type: stress
target: `+e.srv.URL+`
requests:
  - {name: home, url: /, weight: 2}
  - {name: api, method: POST, url: /api, body: '{"a":1}', headers: {Content-Type: application/json}}
scenarios:
  users: {executor: constant-vus, vus: 2, duration: 600ms}
thresholds:
  http_req_duration: ["p(95)<2000"]
  http_req_failed: ["rate<0.01"]
`)
	sum, legacy, rep := filepath.Join(e.dir, "s.json"), filepath.Join(e.dir, "e.json"), filepath.Join(e.dir, "r.html")
	out, errOut, err := e.run(ctx, "run", sc, "--database.url-file="+e.dsnFile, "--summary="+sum, "--summary-export="+legacy, "--report="+rep, "--progress=lines", "--progress.interval=200ms")
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, out, errOut)
	}
	if !strings.Contains(errOut, "checkout [") || !strings.Contains(out, "✓ http_req_failed rate<0.01") || !strings.Contains(out, `baseline: none yet for "checkout"`) {
		t.Fatalf("output:\n%s\n%s", out, errOut)
	}
	for path, want := range map[string]summary.Format{sum: summary.HandleSummary, legacy: summary.Legacy} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		d, format, err := summary.Parse(b)
		if err != nil || format != want || d.Figures().Requests == 0 {
			t.Fatalf("%s: %s %v", path, format, err)
		}
	}
	if b, err := os.ReadFile(rep); err != nil || !bytes.Contains(b, []byte(`data-chart="latency"`)) {
		t.Fatalf("report: %v", err)
	}
	m := loadTestID.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no load test id in:\n%s", out)
	}
	first := m[1]
	lt, err := e.store.GetLoadTest(ctx, first)
	if err != nil || lt.Status != store.LoadTestCompleted || lt.Name != "checkout" || lt.Type != "stress" || !*lt.PassedCriteria {
		t.Fatalf("row %+v %v", lt, err)
	}
	if out, _, err := e.run(ctx, "baseline", first, "--database.url-file="+e.dsnFile); err != nil || !strings.Contains(out, `now the baseline of "checkout"`) {
		t.Fatalf("baseline: %v %s", err, out)
	}
	// The same scenario against a slower target regresses.
	e.delay.Store(int64(25 * time.Millisecond))
	out, errOut, err = e.run(ctx, "run", sc, "--database.url-file="+e.dsnFile, "--progress=none", "--fail-on-regression")
	if exitCode(err) != 97 || !strings.Contains(out, "REGRESSION: p95_ms") {
		t.Fatalf("second run: %v (exit %d)\n%s\n%s", err, exitCode(err), out, errOut)
	}
	second := loadTestID.FindStringSubmatch(out)[1]
	out, _, err = e.run(ctx, "compare", second, "--database.url-file="+e.dsnFile)
	if err != nil || !strings.Contains(out, "REGRESSED") {
		t.Fatalf("compare: %v\n%s", err, out)
	}
	out, _, err = e.run(ctx, "list", "--name=checkout", "--database.url-file="+e.dsnFile)
	if err != nil || strings.Count(out, "checkout") != 2 {
		t.Fatalf("list: %v\n%s", err, out)
	}
}

// Ctrl-C (the context ending) → cancelled, partial results written and recorded.
func TestRunCancelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sum := filepath.Join(e.dir, "s.json")
	ctx, cancel := context.WithCancel(context.Background())
	port, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Live metrics while it runs, then Ctrl-C.
	scraped := make(chan string, 1)
	time.AfterFunc(1300*time.Millisecond, func() {
		defer cancel()
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			scraped <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		scraped <- string(b)
	})
	out, errOut, err := e.run(ctx, "run", "baseline", "--target="+e.srv.URL, "--vus=3", "--duration=1m", "--ramp-up=100ms", "--think-time=5ms",
		"--database.url-file="+e.dsnFile, "--summary="+sum, "--progress=none", "--web.listen-address="+addr)
	if exitCode(err) != 130 {
		t.Fatalf("exit %d: %v\n%s\n%s", exitCode(err), err, out, errOut)
	}
	if m := <-scraped; !strings.Contains(m, `wedsync_load_run_info{name="baseline",type="baseline"} 1`) || !strings.Contains(m, "wedsync_load_vus 3") ||
		strings.Contains(m, "wedsync_load_requests_total 0") {
		t.Fatalf("live metrics:\n%s", m)
	}
	id := loadTestID.FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("not recorded:\n%s", out)
	}
	lt, err := e.store.GetLoadTest(context.Background(), id[1])
	if err != nil || lt.Status != store.LoadTestCancelled || lt.Results == nil {
		t.Fatalf("row %+v %v", lt, err)
	}
	b, err := os.ReadFile(sum)
	if err != nil {
		t.Fatal(err)
	}
	if d, _, err := summary.Parse(b); err != nil || d.Figures().Requests == 0 {
		t.Fatalf("partial summary: %v", err)
	}
}

// Bad input is refused before anything is sent, naming the field.
func TestBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	tests := []struct {
		name string
		args []string
		want string
		code int
	}{
		{"unknown executor", []string{"run", e.file(t, "a.json", `{"target":"`+e.srv.URL+`","scenarios":{"peak":{"executor":"constant-vu","vus":1,"duration":"1s"}}}`)},
			`scenarios.peak.executor: unknown executor "constant-vu"`, 1},
		{"stage without duration", []string{"run", e.file(t, "b.yaml", "target: "+e.srv.URL+"\nstages: [{target: 5}]\n")}, "scenarios.default.stages[0].duration: required", 1},
		{"negative rate", []string{"run", e.file(t, "c.json", `{"target":"`+e.srv.URL+`","scenarios":{"x":{"executor":"constant-arrival-rate","rate":-1,"duration":"1s","preAllocatedVUs":1}}}`)},
			"scenarios.x.rate: must be at least 1, got -1", 1},
		{"bad threshold", []string{"run", e.file(t, "d.json", `{"target":"`+e.srv.URL+`","vus":1,"duration":"1s","thresholds":{"http_req_duration":["p95<2000"]}}`)},
			`thresholds.http_req_duration[0]: threshold "p95<2000": unknown aggregation "p95"`, 1},
		{"too many users", []string{"run", "spike", "--target=" + e.srv.URL, "--vus=3000"}, "3000 VUs exceed the limit of 2000", 1},
		{"too long", []string{"run", "endurance", "--target=" + e.srv.URL}, "--confirm-long", 1},
		{"unknown scenario", []string{"run", "soak", "--target=" + e.srv.URL}, `"soak" is neither a built-in scenario`, 2},
		{"overrides on a file", []string{"run", e.file(t, "e.json", `{"target":"`+e.srv.URL+`","vus":1,"duration":"1s"}`), "--vus=3"}, "apply to built-in scenarios", 2},
		{"no command", nil, "no command", 2},
		{"unknown command", []string{"fly"}, `unknown command "fly"`, 2},
		{"import without name", []string{"import", "x.json"}, "--name=NAME", 2},
	}
	for _, tc := range tests {
		_, _, err := e.run(ctx, append(tc.args, "--database.url-file="+e.dsnFile)...)
		if tc.args == nil || tc.args[0] == "fly" {
			_, _, err = e.run(ctx, tc.args...)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != tc.code {
			t.Errorf("%s: %v (exit %d), want %q (exit %d)", tc.name, err, exitCode(err), tc.want, tc.code)
		}
	}
	if n := e.hits.Load(); n != 0 {
		t.Fatalf("%d requests sent by refused scenarios", n)
	}
	if list, _ := e.store.ListLoadTests(ctx, store.LoadTestFilter{}); len(list) != 0 {
		t.Fatalf("rows for refused scenarios: %d", len(list))
	}
}

func TestImportBaselineCompare(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	fixture := filepath.Join("..", "..", "testdata", "mn1809_K6PerformanceTesting__k6-summary.handleSummary.redacted.json")
	out, _, err := e.run(ctx, "import", fixture, "--name=mn", "--type=stress", "--target=https://example.test", "--database.url-file="+e.dsnFile)
	if err != nil || !strings.Contains(out, "requests 57147 over 7295.1 s") || !strings.Contains(out, "p95 130.6 ms") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`as load test ([0-9a-f-]{36})`).FindStringSubmatch(out)[1]
	if _, _, err := e.run(ctx, "baseline", id, "--database.url-file="+e.dsnFile); err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join("..", "..", "testdata", "andreposman_qr-code-generator__summary-export.json")
	out, _, err = e.run(ctx, "import", legacy, "--name=mn", "--database.url-file="+e.dsnFile)
	if err != nil || !strings.Contains(out, "k6 summary-export") || !strings.Contains(out, "no regression") {
		t.Fatalf("import legacy: %v\n%s", err, out)
	}
	// qr's p99 (349 ms) against mn's baseline (no p99): compared on what both have.
	if !strings.Contains(out, "p99_ms          not measured in both runs") {
		t.Fatalf("comparison:\n%s", out)
	}
	if _, _, err := e.run(ctx, "compare", "00000000-0000-0000-0000-000000000000", "--database.url-file="+e.dsnFile); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("compare unknown: %v", err)
	}
}
