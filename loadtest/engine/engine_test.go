package engine

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/loadtest/scenario"
)

func mustParse(t *testing.T, s string) scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func runScenario(t *testing.T, sc scenario.Scenario, opts Options) *Result {
	t.Helper()
	if opts.Tick == 0 {
		opts.Tick = 200 * time.Millisecond
	}
	r, err := Start(context.Background(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func okServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/chunked":
			w.Write([]byte("part one "))
			w.(http.Flusher).Flush()
			w.Write([]byte("part two"))
		default:
			w.Write([]byte("ok"))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestExecutors(t *testing.T) {
	t.Parallel()
	srv, _ := okServer(t)
	tests := []struct {
		name    string
		options string
		check   func(t *testing.T, res *Result)
	}{
		{"constant-vus", `"vus": 3, "duration": "600ms"`, func(t *testing.T, res *Result) {
			if res.Metrics["http_reqs"].Values["count"] < 10 || res.Metrics["vus_max"].Values["max"] != 3 {
				t.Errorf("metrics %v", res.Metrics)
			}
		}},
		{"shared-iterations", `"scenarios": {"s": {"executor": "shared-iterations", "vus": 4, "iterations": 37}}`, func(t *testing.T, res *Result) {
			if n := res.Metrics["http_reqs"].Values["count"]; n != 37 {
				t.Errorf("requests %v, want 37", n)
			}
		}},
		{"per-vu-iterations", `"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 3, "iterations": 5}}`, func(t *testing.T, res *Result) {
			if n := res.Metrics["iterations"].Values["count"]; n != 15 {
				t.Errorf("iterations %v, want 15", n)
			}
		}},
		{"constant-arrival-rate", `"scenarios": {"s": {"executor": "constant-arrival-rate", "rate": 100, "timeUnit": "1s", "duration": "1s", "preAllocatedVUs": 5, "maxVUs": 20}}`, func(t *testing.T, res *Result) {
			n := res.Metrics["http_reqs"].Values["count"] + res.Metrics["dropped_iterations"].Values["count"]
			if n != 100 {
				t.Errorf("requests + dropped = %v, want 100", n)
			}
		}},
		{"ramping-arrival-rate", `"scenarios": {"s": {"executor": "ramping-arrival-rate", "startRate": 0, "timeUnit": "1s", "preAllocatedVUs": 5, "maxVUs": 20,
			"stages": [{"duration": "500ms", "target": 200}, {"duration": "500ms", "target": 200}]}}`, func(t *testing.T, res *Result) {
			// 0→200/s over 0.5 s is 50 arrivals, then 100 more.
			n := res.Metrics["http_reqs"].Values["count"] + res.Metrics["dropped_iterations"].Values["count"]
			if n < 148 || n > 151 {
				t.Errorf("arrivals %v, want 150", n)
			}
		}},
		{"ramping-vus", `"scenarios": {"s": {"executor": "ramping-vus", "startVUs": 0, "thinkTime": "20ms",
			"stages": [{"duration": "400ms", "target": 6}, {"duration": "400ms", "target": 6}, {"duration": "200ms", "target": 0}]}}`, func(t *testing.T, res *Result) {
			if v := res.Metrics["vus"].Values["max"]; v != 6 {
				t.Errorf("vus max %v, want 6; series %+v", v, res.Series)
			}
			if res.Metrics["iteration_duration"].Values["avg"] < 20 {
				t.Errorf("iteration_duration %v does not include the think time", res.Metrics["iteration_duration"].Values)
			}
		}},
		{"two scenarios with start time", `"scenarios": {"a": {"executor": "constant-vus", "vus": 1, "duration": "300ms"},
			"b": {"executor": "constant-vus", "vus": 1, "duration": "300ms", "startTime": "300ms"}}`, func(t *testing.T, res *Result) {
			if res.Duration < 550*time.Millisecond || len(res.Models) != 2 {
				t.Errorf("duration %s, models %v", res.Duration, res.Models)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := mustParse(t, `{"target": "`+srv.URL+`", `+tc.options+`}`)
			res := runScenario(t, sc, Options{})
			if res.Status != StatusCompleted || !res.Passed {
				t.Fatalf("status %s passed %v: %s", res.Status, res.Passed, res.FailureReason)
			}
			if res.Metrics["http_req_failed"].Values["rate"] != 0 {
				t.Errorf("errors against a healthy target: %v", res.Metrics["http_req_failed"].Values)
			}
			tc.check(t, res)
		})
	}
}

func TestRampingScheduleIntegral(t *testing.T) {
	t.Parallel()
	sc := mustParse(t, `{"target":"http://x","scenarios":{"s":{"executor":"ramping-arrival-rate","startRate":10,"timeUnit":"1s","preAllocatedVUs":1,
		"stages":[{"duration":"10s","target":30},{"duration":"5s","target":30},{"duration":"10s","target":0},{"duration":"2s","target":0}]}}}`)
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	next := rampingSchedule(sc.Scenarios["s"])
	var n int
	var last time.Duration
	for {
		off, ok := next()
		if !ok || off >= 27*time.Second {
			break
		}
		if off < last {
			t.Fatalf("arrival %d at %s before the previous %s", n, off, last)
		}
		last = off
		n++
	}
	// (10+30)/2*10 + 30*5 + 30/2*10 = 200 + 150 + 150 = 500, plus the one at t=0.
	if n < 500 || n > 501 {
		t.Fatalf("%d arrivals, want 500", n)
	}
}

// A target that refuses, times out, or answers garbage is measured as
// errors; the run completes.
func TestBadTargetsAreErrors(t *testing.T) {
	t.Parallel()
	refused := func() string {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	garbage := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
			if br.Buffered() == 0 {
				c.Write([]byte("SMTP ready\r\n\x00\xff garbage\r\n\r\n"))
			}
		}
	})
	badLength := rawServer(t, func(c net.Conn) {
		io.CopyN(io.Discard, c, 10)
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"))
		c.Close()
	})
	srv, _ := okServer(t)
	for name, target := range map[string]string{"refused": refused, "timeout": slow.URL, "garbage": garbage, "short body": badLength, "503": srv.URL + "/fail"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc := mustParse(t, `{"target":"`+target+`","requests":[{"url":"`+target+`","timeout":"150ms"}],"vus":2,"duration":"400ms",
				"thresholds":{"http_req_failed":["rate<0.5"]}}`)
			res := runScenario(t, sc, Options{})
			if res.Status != StatusCompleted || res.Passed {
				t.Fatalf("status %s passed %v", res.Status, res.Passed)
			}
			m := res.Metrics["http_req_failed"].Values
			if m["rate"] != 1 || m["passes"] < 1 {
				t.Fatalf("http_req_failed %v", m)
			}
			if !strings.Contains(res.FailureReason, "http_req_failed rate<0.5") {
				t.Fatalf("failure reason %q", res.FailureReason)
			}
		})
	}
}

func rawServer(t *testing.T, handle func(net.Conn)) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); handle(c) }()
		}
	}()
	return "http://" + l.Addr().String()
}

func TestCancelKeepsPartialResults(t *testing.T) {
	t.Parallel()
	srv, _ := okServer(t)
	sc := mustParse(t, `{"target":"`+srv.URL+`","vus":2,"duration":"1m"}`)
	r, err := Start(context.Background(), sc, Options{Tick: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if p := r.Progress(); p.Requests == 0 || p.VUs != 2 || p.Status != StatusRunning {
		t.Errorf("progress %+v", p)
	}
	r.Cancel()
	select {
	case <-r.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not stop the run")
	}
	res, _ := r.Wait()
	if res.Status != StatusCancelled || res.Metrics["http_reqs"].Values["count"] == 0 || len(res.Series) == 0 {
		t.Fatalf("status %s, requests %v, %d points", res.Status, res.Metrics["http_reqs"].Values, len(res.Series))
	}
	// The parent context ending is a cancellation too.
	ctx, cancel := context.WithCancel(context.Background())
	r2, err := Start(ctx, sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if res, _ := r2.Wait(); res.Status != StatusCancelled {
		t.Fatalf("status %s after the context ended", res.Status)
	}
}

func TestAbortOnFail(t *testing.T) {
	t.Parallel()
	srv, _ := okServer(t)
	sc := mustParse(t, `{"target":"`+srv.URL+`","requests":[{"url":"/fail"}],"vus":1,"duration":"30s",
		"thresholds":{"http_req_failed":[{"threshold":"rate<0.01","abortOnFail":true,"delayAbortEval":"200ms"}]}}`)
	start := time.Now()
	res := runScenario(t, sc, Options{Tick: 100 * time.Millisecond})
	if res.Status != StatusFailed || !strings.Contains(res.FailureReason, "abortOnFail") || time.Since(start) > 10*time.Second {
		t.Fatalf("status %s reason %q after %s", res.Status, res.FailureReason, time.Since(start))
	}
	if res.Duration < 200*time.Millisecond {
		t.Fatalf("aborted after %s, before delayAbortEval", res.Duration)
	}
}

func TestLimitsRejectBeforeSending(t *testing.T) {
	t.Parallel()
	srv, hits := okServer(t)
	sc := mustParse(t, `{"target":"`+srv.URL+`","vus":5000,"duration":"1s"}`)
	if _, err := Start(context.Background(), sc, Options{}); err == nil || !strings.Contains(err.Error(), "scenarios.default.vus: 5000 VUs exceed the limit of 2000") {
		t.Fatalf("err %v", err)
	}
	sc = mustParse(t, `{"target":"`+srv.URL+`","vus":1,"duration":"2h"}`)
	if _, err := Start(context.Background(), sc, Options{}); err == nil || !strings.Contains(err.Error(), "--confirm-long") {
		t.Fatalf("err %v", err)
	}
	sc = mustParse(t, `{"target":"`+srv.URL+`","scenarios":{"x":{"executor":"constant-vus","vus":1,"duration":"1s","rate":1}}}`)
	if _, err := Start(context.Background(), sc, Options{}); err == nil {
		t.Fatal("invalid scenario started")
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests sent by rejected scenarios", hits.Load())
	}
}

func TestSubMetricsAndWeights(t *testing.T) {
	t.Parallel()
	srv, _ := okServer(t)
	sc := mustParse(t, `{"target":"`+srv.URL+`","requests":[{"name":"home","url":"/","weight":3},{"name":"broken","url":"/fail","weight":1,"tags":{"team":"x"}},
		{"name":"stream","url":"/chunked","weight":1}],
		"scenarios":{"s":{"executor":"shared-iterations","vus":2,"iterations":500}},
		"thresholds":{"http_req_failed{name:home}":["rate==0"],"http_req_failed{team:x}":["rate==1"],"http_reqs{status:503}":["count>50"],
		"http_req_duration{expected_response:true}":["max<2000"],"http_req_failed":["rate<0.5"]}}`)
	res := runScenario(t, sc, Options{})
	if !res.Passed {
		t.Fatalf("thresholds %+v", res.Thresholds)
	}
	home := res.Metrics["http_reqs{name:home}"].Values["count"]
	broken := res.Metrics["http_reqs{team:x}"].Values["count"]
	if home < 200 || home > 400 || broken < 50 || broken > 150 {
		t.Fatalf("home %v broken %v of 500 (weights 3:1:1)", home, broken)
	}
	if res.Metrics["data_received"].Values["count"] < 500*50 || res.Metrics["data_sent"].Values["count"] < 500*30 {
		t.Fatalf("data %v %v", res.Metrics["data_sent"], res.Metrics["data_received"])
	}
}

func TestLiveMetricsPassPromtool(t *testing.T) {
	t.Parallel()
	srv, _ := okServer(t)
	sc := mustParse(t, `{"name":"live","target":"`+srv.URL+`","vus":1,"duration":"300ms","thresholds":{"http_req_duration":["p(95)<2000"]}}`)
	r, err := Start(context.Background(), sc, Options{Tick: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.Wait()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r.Collector())
	if n, err := testutil.GatherAndCount(reg); err != nil || n < 12 {
		t.Fatalf("%d series, %v", n, err)
	}
	h := httptest.NewServer(promhttpHandler(reg))
	defer h.Close()
	resp, err := http.Get(h.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`wedsync_load_run_info{name="live",type="custom"} 1`, "wedsync_load_requests_total ", `wedsync_load_request_duration_seconds{quantile="0.95"}`,
		`wedsync_load_threshold_passing{metric="http_req_duration",threshold="p(95)<2000"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	if err := devstack.CheckMetrics(context.Background(), body); err != nil {
		t.Fatal(err)
	}
}

func TestProgressBeforeAndAfter(t *testing.T) {
	t.Parallel()
	srv, _ := okServer(t)
	sc := mustParse(t, `{"target":"`+srv.URL+`","scenarios":{"s":{"executor":"constant-arrival-rate","rate":50,"duration":"500ms","preAllocatedVUs":2}}}`)
	r, err := Start(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Progress(); p.TargetRate != 50 || !math.IsNaN(p.P95) || p.Total != 500*time.Millisecond {
		t.Errorf("early progress %+v", p)
	}
	res, _ := r.Wait()
	if p := r.Progress(); p.Status != StatusCompleted || p.Requests != int64(res.Metrics["http_reqs"].Values["count"]) {
		t.Errorf("final progress %+v", p)
	}
}

// https goes through net/http; header values take ${VARIABLES} from the
// environment, and a missing one stops the run before it starts.
func TestHTTPSAndHeaderVariables(t *testing.T) {
	var authorized, total atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		total.Add(1)
		if r.Header.Get("Authorization") == "Bearer s3cret" && r.Host == "api.wedsync.test" {
			authorized.Add(1)
		}
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	t.Setenv("WEDSYNC_TEST_TOKEN", "s3cret")
	sc := mustParse(t, `{"target":"`+srv.URL+`","insecureSkipTLSVerify":true,
		"requests":[{"url":"/","method":"POST","body":"x","headers":{"Authorization":"Bearer ${WEDSYNC_TEST_TOKEN}","Host":"api.wedsync.test"}}],
		"scenarios":{"s":{"executor":"per-vu-iterations","vus":2,"iterations":10}}}`)
	res := runScenario(t, sc, Options{})
	if res.Metrics["http_req_failed"].Values["rate"] != 0 || authorized.Load() != 20 || res.Metrics["data_sent"].Values["count"] == 0 {
		t.Fatalf("authorized %d of %d, metrics %v", authorized.Load(), total.Load(), res.Metrics["http_req_failed"])
	}
	if strings.Contains(string(sc.JSON()), "s3cret") || !strings.Contains(string(sc.JSON()), "redacted") {
		t.Fatalf("stored config shows the credential: %s", sc.JSON())
	}
	sc = mustParse(t, `{"target":"`+srv.URL+`","requests":[{"url":"/","headers":{"X-Api-Key":"${WEDSYNC_TEST_UNSET}"}}],"vus":1,"duration":"1s"}`)
	before := total.Load()
	if _, err := Start(context.Background(), sc, Options{}); err == nil || !strings.Contains(err.Error(), `requests[0].headers.X-Api-Key: environment variable "WEDSYNC_TEST_UNSET" is not set`) {
		t.Fatalf("missing variable: %v", err)
	}
	if total.Load() != before {
		t.Fatal("requests sent with a missing variable")
	}
}

func TestReadResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		status   int
		keep     bool
		err      bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, true, false},
		{"chunked", "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", 201, true, false},
		{"interim then final", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 204, true, false},
		{"until close", "HTTP/1.0 200 OK\r\n\r\nbody", 200, false, false},
		{"close", "HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 503, false, false},
		{"garbage", "SSH-2.0-OpenSSH\r\n", 0, false, true},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 200, false, true},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab", 200, true, true},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 200, true, true},
		{"empty", "", 0, false, true},
	}
	for _, tc := range tests {
		status, keep, err := readResponse(bufio.NewReader(strings.NewReader(tc.in)), false)
		if status != tc.status || (err != nil) != tc.err || (!tc.err && keep != tc.keep) {
			t.Errorf("%s: status %d keep %v err %v", tc.name, status, keep, err)
		}
	}
}

func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "HTTP/1.0 200 OK\r\n\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Whatever the target sends, the client returns; it never panics.
		readResponse(bufio.NewReaderSize(bytes.NewReader(b), 64), false)
	})
}

// A server passes NoEnv: a submitted scenario cannot read the server's
// environment through its headers; it is refused before anything is sent.
func TestNoEnvRefusesHeaderReferences(t *testing.T) {
	t.Setenv("WEDSYNC_TEST_NOENV_SECRET", "s3cret")
	one, sec := int64(1), scenario.Duration(time.Second)
	sc := scenario.Scenario{Name: "x", Type: scenario.TypeCustom, Target: "http://127.0.0.1:1",
		Requests: []scenario.Request{{URL: "/", Headers: map[string]string{"Authorization": "Bearer ${WEDSYNC_TEST_NOENV_SECRET}"}}},
		Options:  scenario.Options{VUs: &one, Duration: &sec}}
	err := Check(sc, Options{Env: NoEnv})
	if err == nil || !strings.Contains(err.Error(), `requests[0].headers.Authorization: environment variable "WEDSYNC_TEST_NOENV_SECRET" is not set`) {
		t.Fatalf("err = %v", err)
	}
	if err := Check(sc, Options{}); err != nil {
		t.Fatalf("the CLI's default reads the environment: %v", err)
	}
}
