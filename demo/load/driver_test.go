package load

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunHitsTargetAtRate(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	var firstHalf atomic.Int64
	start := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if time.Since(start) < 500*time.Millisecond {
			firstHalf.Add(1)
		}
		if r.URL.Path != "/a" && r.URL.Path != "/b" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)

	d, err := New(Config{Target: srv.URL + "/", Paths: []string{"/a", "/b"}, Stages: []Stage{{time.Second, 100}}})
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	res, err := d.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("%+v, first half %d", res, firstHalf.Load())
	if res.Sent != 100 || res.OK != 100 || res.Errors != 0 || res.Dropped != 0 || hits.Load() != 100 {
		t.Fatalf("result %+v, server saw %d; want 100 sent and answered", res, hits.Load())
	}
	if h := firstHalf.Load(); h < 40 || h > 60 {
		t.Errorf("%d requests in the first half second, want about 50 (an even rate)", h)
	}
	if res.Elapsed < 950*time.Millisecond || res.Elapsed > 2*time.Second {
		t.Errorf("elapsed %s, want about 1s", res.Elapsed)
	}
	if s := d.Snapshot(); !s.Done || s.Sent != res.Sent || s.OK != res.OK || s.InFlight != 0 {
		t.Errorf("final snapshot %+v does not match result %+v", s, res)
	}
	if _, err := d.Run(context.Background()); err == nil {
		t.Error("second Run of the same driver: want an error")
	}
}

func TestRunCountsErrors(t *testing.T) {
	t.Parallel()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	// A port nothing listens on: take a free one and close it again.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusing := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name   string
		target string
	}{
		{"5xx answers", failing.URL},
		{"connection refused", refusing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Run(context.Background(), Config{
				Target: tc.target, Paths: []string{"/"}, Stages: []Stage{{300 * time.Millisecond, 50}},
				Client: &http.Client{Timeout: 2 * time.Second},
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Sent != 15 || res.Errors != 15 || res.OK != 0 {
				t.Fatalf("result %+v, want 15 sent, all errors", res)
			}
		})
	}
}

func TestRunDropsBeyondMaxInFlight(t *testing.T) {
	t.Parallel()
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		time.Sleep(500 * time.Millisecond)
	}))
	t.Cleanup(slow.Close)
	d, err := New(Config{Target: slow.URL, Paths: []string{"/"}, Stages: []Stage{{300 * time.Millisecond, 100}}, MaxInFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan Result, 1)
	go func() {
		res, _ := d.Run(context.Background())
		done <- res
	}()
	// Progress is visible while the run is going.
	deadline := time.Now().Add(2 * time.Second)
	for s := d.Snapshot(); s.Dropped == 0 || s.InFlight != 2 || s.TargetRate != 100; s = d.Snapshot() {
		if time.Now().After(deadline) {
			t.Fatalf("snapshot never showed drops with 2 in flight: %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	res := <-done
	if res.Sent != 2 || res.OK != 2 || res.Dropped != 28 {
		t.Fatalf("result %+v, want 2 sent and 28 dropped", res)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Config{Target: srv.URL, Paths: []string{"/"}, Stages: []Stage{{time.Minute, 50}}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Run took %s after cancel", took)
	}
	if res.Sent < 5 || res.Sent > 15 || res.Sent != res.OK+res.Errors {
		t.Fatalf("result %+v, want about 10 sent, each answered or failed", res)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := func() Config {
		return Config{Target: "http://127.0.0.1:9683", Paths: []string{"/api/weddings"}, Stages: []Stage{{time.Second, 10}}}
	}
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // every line of the error, in order
	}{
		{"valid", func(*Config) {}, nil},
		{"no target", func(c *Config) { c.Target = "" }, []string{"target: required"}},
		{"target without scheme", func(c *Config) { c.Target = "127.0.0.1:9683" }, []string{`target: must be an http or https URL with a host, got "127.0.0.1:9683"`}},
		{"ftp target", func(c *Config) { c.Target = "ftp://x" }, []string{`target: must be an http or https URL with a host, got "ftp://x"`}},
		{"no paths", func(c *Config) { c.Paths = nil }, []string{"paths: must not be empty"}},
		{"relative path", func(c *Config) { c.Paths = []string{"/ok", "api"} }, []string{`paths[1]: must start with "/", got "api"`}},
		{"no stages", func(c *Config) { c.Stages = nil }, []string{"stages: must not be empty"}},
		{"zero duration", func(c *Config) { c.Stages = append(c.Stages, Stage{0, 5}) }, []string{"stages[1].duration: must be > 0"}},
		{"negative rate", func(c *Config) { c.Stages[0].Rate = -1 }, []string{"stages[0].rate: must be a finite number >= 0, got -1"}},
		{"NaN rate", func(c *Config) { c.Stages[0].Rate = math.NaN() }, []string{"stages[0].rate: must be a finite number >= 0, got NaN"}},
		{"negative max in flight", func(c *Config) { c.MaxInFlight = -1 }, []string{"max_in_flight: must be >= 0, got -1"}},
		{"every problem at once", func(c *Config) { c.Target = ""; c.Stages = []Stage{{-time.Second, 1}} }, []string{"target: required", "stages[0].duration: must be > 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := good()
			tc.modify(&c)
			err := c.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != strings.Join(tc.want, "\n") {
				t.Fatalf("Validate = %v, want %q", err, strings.Join(tc.want, "\n"))
			}
			if _, err := Run(context.Background(), c); err == nil || !strings.Contains(err.Error(), tc.want[0]) {
				t.Fatalf("Run = %v, want the validation error", err)
			}
		})
	}
}
