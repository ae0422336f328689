package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/loadtest/engine"
	"github.com/wedsync/scaling/loadtest/scenario"
)

// benchDuration is how long each tool runs; WEDSYNC_BENCH_SECONDS overrides.
func benchDuration() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("WEDSYNC_BENCH_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 10 * time.Second
}

const connections = 50

// startTarget builds and starts the minimal target as its own process, so
// that every generator measured shares the machine with it the same way.
func startTarget(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "benchtarget")
	if out, err := exec.Command("go", "build", "-o", bin, "../internal/benchtarget").CombinedOutput(); err != nil {
		tb.Fatalf("build target: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("target address: %v", err)
	}
	return "http://" + strings.TrimSpace(line)
}

func ours(tb testing.TB, target string, d time.Duration) float64 {
	sc, err := scenario.Parse([]byte(fmt.Sprintf(`{"name":"bench","target":%q,"vus":%d,"duration":%q}`, target, connections, d.String())))
	if err != nil {
		tb.Fatal(err)
	}
	r, err := engine.Start(context.Background(), sc, engine.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	res, _ := r.Wait()
	if res.Metrics["http_req_failed"].Values["rate"] > 0 {
		tb.Fatalf("errors against the target: %v", res.Metrics["http_req_failed"].Values)
	}
	return res.Metrics["http_reqs"].Values["rate"]
}

var wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func wrk(tb testing.TB, target string, d time.Duration) float64 {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		tb.Fatal("wrk not found: run WEDSYNC_BENCH_DEPS=1 ./scripts/deps.sh")
	}
	out, err := exec.Command(bin, "-t2", fmt.Sprintf("-c%d", connections), fmt.Sprintf("-d%ds", int(d.Seconds())), target+"/").CombinedOutput()
	if err != nil {
		tb.Fatalf("wrk: %v\n%s", err, out)
	}
	m := wrkRPS.FindSubmatch(out)
	if m == nil {
		tb.Fatalf("wrk output: %s", out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

var vegetaRPS = regexp.MustCompile(`"throughput":\s*([0-9.eE+-]+)`)

func vegeta(tb testing.TB, target string, d time.Duration) float64 {
	bin := os.Getenv("VEGETA")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("vegeta"); err != nil {
			tb.Fatal("vegeta not found: set $VEGETA (scripts/bench.d/30-loadtest.sh installs it)")
		}
	}
	attack := exec.Command(bin, "attack", "-rate=0", fmt.Sprintf("-max-workers=%d", connections), fmt.Sprintf("-workers=%d", connections),
		"-duration="+d.String(), "-keepalive=true")
	attack.Stdin = strings.NewReader("GET " + target + "/\n")
	report := exec.Command(bin, "report", "-type=json")
	pipe, _ := attack.StdoutPipe()
	report.Stdin = pipe
	var out strings.Builder
	report.Stdout = &out
	if err := report.Start(); err != nil {
		tb.Fatal(err)
	}
	if err := attack.Run(); err != nil {
		tb.Fatalf("vegeta attack: %v", err)
	}
	if err := report.Wait(); err != nil {
		tb.Fatalf("vegeta report: %v", err)
	}
	m := vegetaRPS.FindStringSubmatch(out.String())
	if m == nil {
		tb.Fatalf("vegeta report: %s", out.String())
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// BenchmarkThroughput runs wedsync-load, vegeta and wrk one after the other
// against the same target for the same time with the same concurrency and
// reports each one's requests/s and our ratios (goals: ≥ 1.0× vegeta,
// ≥ 0.7× wrk). Run it with -benchtime 1x.
func BenchmarkThroughput(b *testing.B) {
	target := startTarget(b)
	d := benchDuration()
	var o, v, w float64
	for range b.N {
		o = ours(b, target, d)
		v = vegeta(b, target, d)
		w = wrk(b, target, d)
	}
	b.ReportMetric(o, "ours_req/s")
	b.ReportMetric(v, "vegeta_req/s")
	b.ReportMetric(w, "wrk_req/s")
	b.ReportMetric(o/v, "ratio_vegeta")
	b.ReportMetric(o/w, "ratio_wrk")
}
